// Who must set an app lock PIN (docs/pwa.md "App lock"): a pure rule over the person's
// memberships and the replica's station records, so it is tested in Node (tests/account.test.js).

const ALWAYS = new Set(['district_manager', 'admin']);
const AT_STATION = new Set(['staff', 'manager']);

/** Whether the person's memberships call for a PIN: district managers and admins always;
 *  staff and managers when a station of theirs says `pin_required` (its public record, which
 *  every phone pulls; a record from before the setting counts as on). `null` while a station
 *  that could decide it is not in the replica yet (before the first pull). */
export function pinRequiredFor(me, view) {
  const memberships = me?.memberships?.length ? me.memberships : me ? [me] : [];
  let unknown = false;
  for (const m of memberships) {
    if (ALWAYS.has(m.role)) return true;
    if (!AT_STATION.has(m.role) || !m.station) continue;
    const station = view?.station?.get(m.station);
    if (!station) unknown = true;
    else if (station.pin_required !== false) return true;
  }
  return unknown ? null : false;
}
