// Unit tests of the donation model and its local overlay (run by `npm test`).
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  correctionsByDonation, currentOf, highestUsed, mySeries, parseYuan, receiptNumber, totalsOf,
  verificationCode, yuan,
} from '../src/areas/donations/model.js';
import { baseView, buildView, overlayView } from '../src/sync/local.js';
import { registerAreaRecords } from '../scripts/area-records.mjs';

await registerAreaRecords(); // as src/areas/index.js does in the app

test('yuan and fen', () => {
  assert.equal(yuan(0), '0.00');
  assert.equal(yuan(8850), '88.50');
  assert.equal(yuan(123456789), '1,234,567.89');
  assert.equal(yuan(-2000), '-20.00');
  assert.equal(parseYuan('88.5'), 8850);
  assert.equal(parseYuan('1,200'), 120000);
  assert.equal(parseYuan('0.05'), 5);
  assert.equal(parseYuan('12.345'), null);
  assert.equal(parseYuan('-3'), null);
  assert.equal(parseYuan(''), null);
});

test('verification codes use the agreed alphabet; numbers have five digits', () => {
  const code = verificationCode();
  assert.match(code, /^[A-HJ-NP-Z2-9]{8}$/);
  assert.equal(verificationCode(() => new Uint8Array([0, 31, 32, 255, 8, 9, 10, 11])), 'A9A9JKLM');
  assert.equal(receiptNumber('TH-001-S007', 42), 'TH-001-S007-00042');
});

const money = (id, amount, extra = {}) => ({ id, kind: 'money', amount_fen: amount, station: 'S', ...extra });

test('current amount and totals follow applied corrections only', () => {
  const view = buildView([
    { type: 'donation', id: 'a', data: money('a', 10000) },
    { type: 'donation', id: 'b', data: money('b', 5000) },
    { type: 'donation', id: 'g', data: { id: 'g', kind: 'goods', amount_fen: 800, station: 'S' } },
    { type: 'donation_correction', id: 'c1', data: { id: 'c1', donation_id: 'a', action: 'correct', delta_fen: -9000, status: 'applied', requested_at: '1' } },
    { type: 'donation_correction', id: 'c2', data: { id: 'c2', donation_id: 'b', action: 'void', delta_fen: -5000, status: 'pending', requested_at: '2' } },
  ], [], null);
  const index = correctionsByDonation(view);
  assert.deepEqual(currentOf(view.donation.get('a'), index.get('a')), { amount: 1000, voided: false, pending: null });
  assert.equal(currentOf(view.donation.get('b'), index.get('b')).pending.id, 'c2');
  assert.deepEqual(totalsOf([...view.donation.values()], index), { money: 6000, goods: 800, count: 3, voided: 0 });
});

test('the overlay shows a donation, its receipt and a void at once', () => {
  const outbox = [
    { id: 1, name: 'donation.record', created_at: '2026-12-05T02:00:00Z', args: {
      id: 'd1', station: 'S', kind: 'goods', donor: { anonymous: true, wants_receipt: true },
      items: [{ name: '大米', quantity: 2, unit: '袋', estimated_value_fen: 300 }, { name: '油', quantity: 1, unit: '桶', estimated_value_fen: 200 }],
      receipt: { number: 'S-S001-00001', code: 'ABCDEFGH' } } },
    { id: 2, name: 'donation.correct', created_at: '2026-12-05T02:01:00Z', args: { id: 'c1', donation_id: 'd1', action: 'void', reason: 'x' } },
    { id: 3, name: 'receipt.reprint', created_at: '2026-12-05T02:02:00Z', args: { number: 'S-S001-00001' } },
  ];
  const view = buildView([], outbox, { user: 'u1' });
  const donation = view.donation.get('d1');
  assert.equal(donation.amount_fen, 500);
  assert.equal(donation.recorded_by, 'u1');
  assert.equal(donation.pending, true);
  const correction = view.donation_correction.get('c1');
  assert.equal(correction.delta_fen, -500);
  assert.equal(correction.status, 'applied');
  assert.equal(currentOf(donation, correctionsByDonation(view).get('d1')).voided, true);
  assert.equal(view.receipt.get('S-S001-00001').status, 'withdrawn'); // the void withdrew it
  assert.equal(view.receipt.get('S-S001-00001').reprints, 1);
});

test('a correction above the threshold shows as waiting; a decision applies it', () => {
  const rows = [{ type: 'donation', id: 'd', data: money('d', 100000) }];
  const pending = buildView(rows, [{ id: 1, name: 'donation.correct', created_at: 't', args: { id: 'c', donation_id: 'd', action: 'correct', new_amount_fen: 10000, reason: 'r' } }], null);
  assert.equal(pending.donation_correction.get('c').status, 'pending');
  const decided = buildView(
    [...rows, { type: 'donation_correction', id: 'c', data: { ...pending.donation_correction.get('c'), pending: undefined } }],
    [{ id: 2, name: 'correction.decide', created_at: 't', args: { id: 'c', decision: 'approve' } }], { user: 'm' },
  );
  assert.equal(decided.donation_correction.get('c').status, 'applied');
  assert.equal(decided.donation_correction.get('c').decided_by, 'm');
});

test('overlayView copies only the types the outbox touches; the base stays as pulled', () => {
  const base = baseView([{ type: 'donation', id: 'a', data: money('a', 1) }, { type: 'event', id: 'e', data: { id: 'e' } }]);
  const view = overlayView(base, [{ id: 1, name: 'receipt.reprint', created_at: 't', args: { number: 'none' } }], null);
  assert.equal(view.donation, base.donation); // untouched: the same Map (screens memoise on it)
  const recorded = overlayView(base, [{ id: 1, name: 'donation.record', created_at: 't', args: { id: 'b', station: 'S', kind: 'money', amount_fen: 5, donor: { anonymous: true } } }], null);
  assert.notEqual(recorded.donation, base.donation);
  assert.equal(recorded.donation.size, 2);
  assert.equal(base.donation.size, 1);
});

test("this phone's series and the numbers it already used", () => {
  const view = buildView([
    { type: 'receipt_series', id: 'S-S001', data: { code: 'S-S001', client_id: 'other', created_at: '1' } },
    { type: 'receipt_series', id: 'S-S002', data: { code: 'S-S002', client_id: 'me', created_at: '2' } },
    { type: 'receipt', id: 'S-S002-00007', data: { number: 'S-S002-00007' } },
  ], [], null);
  assert.equal(mySeries(view, 'me').code, 'S-S002');
  assert.equal(mySeries(view, 'me', { 'S-S002': 99999 }), null); // used up
  assert.equal(mySeries(view, 'nobody'), null);
  assert.equal(highestUsed(view, 'S-S002'), 7);
});
