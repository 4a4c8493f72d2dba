// Receipt numbers issued offline (docs/donations.md, step by step): the phone claims a
// series of its own (receipt_series.claim) as soon as it is enrolled as staff of a station
// (enrolment is online, so the claim goes out with the first sync); then each receipt
// takes the next counter of that series, kept in IndexedDB next to the outbox, so numbers
// never repeat on this phone and no other phone has the series.
import { atLeast } from '../../roles.js';
import { act, subscribe } from '../../state.js';
import { openStore } from '../../sync/store.js';
import { newId } from '../../sync/ids.js';
import { SERIES_LOW, highestUsed, mySeries, receiptNumber, verificationCode } from './model.js';

const CLAIM_LOCK = 'charity-series-claim';

/** Whether this snapshot calls for a new claim: staff of a station, no usable series for
 *  this client id, and no claim made yet for it (a refused claim shows in the sync bar, not
 *  in a loop). A series belongs to one client id, so a client id never claimed for has
 *  none: the claim is queued at once on enrolment and goes out with the first sync. */
export function needsClaim(snapshot) {
  const { meta, view, outbox } = snapshot;
  const me = meta.me;
  if (!snapshot.loaded || !meta.token || !meta.client_id || !me?.station || !atLeast(me, 'staff')) return false;
  if (outbox.some((m) => m.name === 'receipt_series.claim')) return false;
  const counters = meta.receipt_counters || {};
  const series = mySeries(view, meta.client_id, counters);
  if (series && (counters[series.code] || 0) < SERIES_LOW) return false;
  const last = meta.receipt_claim;
  return !(last && last.client_id === meta.client_id && last.after === (series?.code ?? null));
}

async function claim(snapshot) {
  const db = await openStore();
  const id = newId();
  const series = mySeries(snapshot.view, snapshot.meta.client_id, snapshot.meta.receipt_counters || {});
  // Recorded first: a claim is made once per client id (and series running low), even if
  // the app closes before the outbox row is written.
  await db.put('meta', { client_id: snapshot.meta.client_id, after: series?.code ?? null, id }, 'receipt_claim');
  await act('receipt_series.claim', { id, station: snapshot.meta.me.station });
}

/** Follow every snapshot; claim when needed, one tab at a time. */
export function watchSeries() {
  subscribe((snapshot) => {
    if (!needsClaim(snapshot)) return;
    const run = async (lock) => {
      if (lock === null) return;
      const db = await openStore();
      const again = { ...snapshot, meta: { ...snapshot.meta, receipt_claim: await db.get('meta', 'receipt_claim') } };
      if (needsClaim(again)) await claim(again);
    };
    if (navigator.locks) navigator.locks.request(CLAIM_LOCK, { ifAvailable: true }, run);
    else run(true);
  });
}

/** The next receipt of this phone's series, or null when it has none yet (its claim has
 *  not come back from the server). The counter is raised in IndexedDB before the number is used, so a crash can
 *  skip a number but never give one twice. */
export async function nextReceipt(view, clientId) {
  const db = await openStore();
  const tx = db.transaction('meta', 'readwrite');
  const counters = { ...((await tx.store.get('receipt_counters')) || {}) };
  const series = mySeries(view, clientId, counters);
  if (!series) { await tx.done; return null; }
  const counter = Math.max(counters[series.code] || 0, highestUsed(view, series.code)) + 1;
  counters[series.code] = counter;
  await tx.store.put(counters, 'receipt_counters');
  await tx.done;
  return { number: receiptNumber(series.code, counter), code: verificationCode() };
}

/** The series this phone issues from now (for the screen), or null. */
export function currentSeries(app) {
  return mySeries(app.view, app.meta.client_id, app.meta.receipt_counters || {});
}
