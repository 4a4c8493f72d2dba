// Who may do what where, as the server decides it (sync/scopes.py rank_at; server/domain/
// people.py may_grant): only to choose which screens, buttons and choices to show.
import { RANK } from '../../roles.js';

/** The phone's memberships: /api/v1/me's list, or the single role of an older answer. */
export function membershipsOf(me) {
  if (!me) return [];
  if (Array.isArray(me.memberships) && me.memberships.length) return me.memberships;
  return [{ role: me.role, station: me.station ?? null, district: me.district ?? null }];
}

/** The highest rank the phone's person holds at a station (or, station null, a district). */
export function rankAt(me, station, district) {
  let best = -1;
  for (const m of membershipsOf(me)) {
    let covers = false;
    if (m.role === 'admin') covers = true;
    else if (m.role === 'district_manager') covers = !!district && m.district === district;
    else covers = !!station && m.station === station;
    if (covers) best = Math.max(best, RANK[m.role] ?? -1);
  }
  return best;
}

export function isAdmin(me) {
  return membershipsOf(me).some((m) => m.role === 'admin');
}

/** Stations where the person holds at least `minRole`, sorted by code. */
export function stationsFor(me, stations, minRole) {
  return [...stations.values()]
    .filter((s) => rankAt(me, s.code, s.district) >= RANK[minRole])
    .sort((a, b) => (a.code < b.code ? -1 : 1));
}

/** Roles the person may grant at a place: rank there >= max(role, manager). */
export function grantable(me, station, district) {
  const mine = rankAt(me, station, district);
  if (mine < RANK.manager) return [];
  const roles = station ? ['volunteer', 'staff', 'manager'] : district ? ['district_manager'] : ['admin'];
  return roles.filter((r) => RANK[r] <= mine);
}

/** Every district the phone knows: the district records and the stations' districts. */
export function districtNames(view) {
  const names = new Set([...(view.district?.keys() || [])]);
  for (const s of view.station.values()) if (s.district) names.add(s.district);
  return [...names].sort();
}
