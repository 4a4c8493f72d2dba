// Donations as the phone reads them (docs/donations.md "Records"): a donation never
// changes; its current amount and status come from its corrections. Pure functions, so
// node tests cover them and the screens compute totals from the local replica offline.
import { yuan } from '../../ui/format.js';

export { yuan };

/** The server's default `correction_approval_threshold_fen` (until the phone has fetched the
 *  server's own, src/config.js): a change larger than this waits for a second person. */
export const APPROVAL_THRESHOLD_FEN = 50000;
let approvalThreshold = APPROVAL_THRESHOLD_FEN;
/** The server's `correction_approval_threshold_fen` as last fetched (src/config.js). */
export function setApprovalThreshold(fen) {
  if (Number.isInteger(fen) && fen >= 0) approvalThreshold = fen;
}
export function approvalThresholdFen() {
  return approvalThreshold;
}
/** Numbers per receipt series (`<series>-<5 digits>`); a new series is claimed before. */
export const SERIES_SIZE = 99999;
export const SERIES_LOW = 99000;
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // 32 letters: no bias from `% 32`

/** "12", "12.5", "12.50", "1,200" -> fen; null when not an amount. */
export function parseYuan(text) {
  const clean = String(text ?? '').replace(/[,\s¥元]/g, '');
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(clean);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

/** A verification code: 8 characters drawn with crypto.getRandomValues. */
export function verificationCode(random = (n) => crypto.getRandomValues(new Uint8Array(n))) {
  return Array.from(random(8), (byte) => CODE_ALPHABET[byte % 32]).join('');
}

export function receiptNumber(series, counter) {
  return `${series}-${String(counter).padStart(5, '0')}`;
}

/** donation id -> its corrections, oldest first. One pass over the corrections. */
export function correctionsByDonation(view) {
  const index = new Map();
  for (const c of view.donation_correction?.values() ?? []) {
    const list = index.get(c.donation_id);
    if (list) list.push(c); else index.set(c.donation_id, [c]);
  }
  for (const list of index.values()) list.sort((a, b) => (a.requested_at < b.requested_at ? -1 : 1));
  return index;
}

/** {amount, voided, pending} of a donation given its corrections. */
export function currentOf(donation, corrections = []) {
  let amount = Number(donation.amount_fen) || 0;
  let voided = false;
  let pending = null;
  for (const c of corrections) {
    if (c.status === 'applied') {
      amount += Number(c.delta_fen) || 0;
      voided = voided || c.action === 'void';
    } else if (c.status === 'pending') {
      pending = c;
    }
  }
  return { amount, voided, pending };
}

/** Money and goods raised (voids and applied corrections counted) over some donations. */
export function totalsOf(donations, index) {
  const totals = { money: 0, goods: 0, count: 0, voided: 0 };
  for (const d of donations) {
    const now = currentOf(d, index.get(d.id));
    if (now.voided) { totals.voided++; continue; }
    totals.count++;
    totals[d.kind === 'goods' ? 'goods' : 'money'] += now.amount;
  }
  return totals;
}

/** When a donation was made, as the phone shows it (device time; server time once synced). */
export function madeAt(donation) {
  return donation.device_time || donation.recorded_at || '';
}

export function sameLocalDay(iso, day = new Date()) {
  const d = new Date(iso);
  return !Number.isNaN(d.getTime()) && d.toDateString() === day.toDateString();
}

/** The donor as the staff see it (full name: staff are allowed to). */
export function donorLabel(d, anonymousText) {
  if (d.donor_anonymous) return anonymousText;
  return [d.donor_name, d.donor_organisation].filter(Boolean).join(' · ') || anonymousText;
}

/** This phone's usable series: claimed by this client id and not used up. */
export function mySeries(view, clientId, counters = {}) {
  const mine = [...(view.receipt_series?.values() ?? [])]
    .filter((s) => s.client_id === clientId)
    .sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
  return mine.find((s) => (counters[s.code] || 0) < SERIES_SIZE) || null;
}

/** The highest counter this phone's view already shows in use in a series. */
export function highestUsed(view, series) {
  let high = 0;
  const prefix = `${series}-`;
  for (const number of view.receipt?.keys() ?? []) {
    if (number.startsWith(prefix)) high = Math.max(high, Number(number.slice(prefix.length)) || 0);
  }
  return high;
}

/** Which gift a queued or refused donation mutation is about ("¥20.00 张三 DC-001-S001-00002"),
 *  for the sync panel; null for other mutations. */
export function describeDonationArgs(name, args, view, anonymousText) {
  if (!args || !/^(donation|correction|receipt|disbursement)\./.test(name)) return null;
  if (name.startsWith('disbursement.')) {
    const d = view?.disbursement?.get(args.id) || args;
    return [d.amount_fen != null && `¥${yuan(d.amount_fen)}`, d.payee].filter(Boolean).join(' ');
  }
  const correction = name === 'correction.decide' ? view?.donation_correction?.get(args.id) : null;
  const receipt = args.number && view?.receipt?.get(args.number);
  const donationId = args.donation_id || correction?.donation_id || receipt?.donation_id || (name === 'donation.record' ? args.id : null);
  const donation = donationId && view?.donation?.get(donationId);
  const amount = donation ? donation.amount_fen : args.amount_fen;
  const parts = [
    amount != null && `¥${yuan(amount)}`,
    donation ? donorLabel(donation, anonymousText) : null,
    donation?.receipt_number || args.number || args.receipt?.number,
    args.reason && `「${args.reason}」`,
  ];
  return parts.filter(Boolean).join(' ');
}

/** The federation's people for a fund (server/domain/funds.py holds_fund): admin, or a
 *  district manager of the fund's district. Only decides which buttons to show. */
export function holdsFund(me, fund) {
  if (!me) return false;
  if (me.role === 'admin') return true;
  return me.role === 'district_manager' && !!fund.district && me.district === fund.district;
}

/** Who may request a disbursement from a fund: the federation or staff of its station. */
export function worksForFund(me, fund) {
  if (holdsFund(me, fund)) return true;
  return !!me && ['staff', 'manager', 'district_manager', 'admin'].includes(me.role) && !!fund.station && me.station === fund.station;
}
