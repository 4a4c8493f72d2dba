// The local versions of the hours and Time Bank mutations (what a phone shows before the
// server answers) and the volunteer code.
import assert from 'node:assert/strict';
import test from 'node:test';
import { buildView } from '../src/sync/local.js';
import { volunteerCodeUrl, volunteerFromCode } from '../src/areas/timebank/common.js';
import { registerAreaRecords } from '../scripts/area-records.mjs';

await registerAreaRecords(); // as src/areas/index.js does in the app

const me = { user: 'vol-1', role: 'volunteer', station: 'S1' };
const outboxRow = (id, name, args) => ({ id, name, args, hlc: `000000000000${id}:0000:c`, created_at: '2026-11-25T02:00:00.000Z' });

test('an offline redemption debits at once; a second one the balance no longer covers is held', () => {
  const replica = [
    { type: 'timebank_account', id: 'vol:vol-1', data: { id: 'vol:vol-1', balance_cents: 100 } },
    { type: 'redemption_item', id: 'i1', data: { id: 'i1', station: 'S1', district: 'D', cost_cents: 100, stock: 5, title: 'x' } },
  ];
  const view = buildView(replica, [
    outboxRow(1, 'redemption.request', { id: 'r1', item_id: 'i1' }),
    outboxRow(2, 'redemption.request', { id: 'r2', item_id: 'i1' }),
  ], me);
  assert.equal(view.timebank_account.get('vol:vol-1').balance_cents, 0);
  assert.equal(view.redemption.get('r1').status, 'requested');
  assert.equal(view.redemption.get('r2').status, 'needs_review');
  assert.equal(view.redemption.get('r2').review_reason, 'balance_insufficient');
  assert.equal(view.redemption_item.get('i1').stock, 4);
  const withdrawn = buildView(replica, [
    outboxRow(1, 'redemption.request', { id: 'r1', item_id: 'i1' }),
    outboxRow(2, 'redemption.decline', { id: 'r1', reason: 'no' }),
  ], me);
  assert.equal(withdrawn.timebank_account.get('vol:vol-1').balance_cents, 100);
  assert.equal(withdrawn.redemption.get('r1').status, 'declined');
});

test('check-in shows a running session; check-out submits it with its minutes', () => {
  const replica = [{ type: 'service_activity', id: 'a1', data: { id: 'a1', station: 'S1', district: 'D', service_type: 'elder_care' } }];
  const open = buildView(replica, [outboxRow(1, 'hours.check_in', { id: 'l1', activity_id: 'a1', at: '2026-11-25T01:00:00.000Z' })], me);
  assert.equal(open.hour_log.get('l1').status, 'open');
  assert.equal(open.hour_log.get('l1').source, 'self');
  const staffScan = buildView(replica, [outboxRow(1, 'hours.check_in', { id: 'l1', activity_id: 'a1', at: '2026-11-25T01:00:00.000Z', volunteer_id: 'vol-2' })], me);
  assert.equal(staffScan.hour_log.get('l1').source, 'staff_scan');
  const closed = buildView(replica, [
    outboxRow(1, 'hours.check_in', { id: 'l1', activity_id: 'a1', at: '2026-11-25T01:00:00.000Z' }),
    outboxRow(2, 'hours.check_out', { id: 'l1', at: '2026-11-25T03:30:59.000Z' }),
  ], me);
  assert.equal(closed.hour_log.get('l1').status, 'submitted');
  assert.equal(closed.hour_log.get('l1').minutes, 150);
});

test('approving one of two overlapping logs with supersede rejects the other', () => {
  const log = (id, other) => ({ type: 'hour_log', id, data: { id, status: 'submitted', overlaps: [other] } });
  const view = buildView([log('a', 'b'), log('b', 'a')], [outboxRow(1, 'hours.approve', { id: 'a', supersede_overlapping: true })], me);
  assert.equal(view.hour_log.get('a').status, 'approved');
  assert.equal(view.hour_log.get('b').status, 'rejected');
});

test('the signed volunteer code carries the code and, readable, the id staff check-in needs', () => {
  // 1.<"vol 1" base64url>.<issued>.<expires>.<tag>, as server/domain/volunteer_codes.py signs it
  const code = `1.${Buffer.from('vol 1').toString('base64url')}.${(1764300000).toString(36)}.${(1764904800).toString(36)}.AAAAAAAAAAAAAAAAAAAAAA`;
  const url = volunteerCodeUrl('https://x.example', code);
  assert.deepEqual(volunteerFromCode(url), { volunteer: 'vol 1', code, expires: 1764904800000 });
  assert.deepEqual(volunteerFromCode(` ${code} `), { volunteer: 'vol 1', code, expires: 1764904800000 });
  // a plain id (typed, or an old link) names the volunteer without a code
  assert.deepEqual(volunteerFromCode('  vol-7 '), { volunteer: 'vol-7', code: '' });
  assert.deepEqual(volunteerFromCode('https://x.example/#/hours/staff?volunteer=vol%201'), { volunteer: 'vol 1', code: '' });
});

test('every word the timebank screens ask for is in the table, in both languages', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const { addStrings, has } = await import('../src/i18n.js');
  const { TIMEBANK_STRINGS } = await import('../src/areas/timebank/strings.js');
  addStrings(TIMEBANK_STRINGS); // as src/areas/index.js does in the app
  const dir = new URL('../src/areas/timebank/', import.meta.url);
  const keys = new Set();
  for (const file of readdirSync(dir)) {
    for (const m of readFileSync(new URL(file, dir), 'utf8').matchAll(/\bt\('([\w.]+)'/g)) keys.add(m[1]);
  }
  const statuses = ['open', 'submitted', 'approved', 'rejected', 'reversed'].map((s) => `log.status.${s}`);
  const redemptions = ['requested', 'needs_review', 'approved', 'fulfilled', 'declined', 'declined_undebited'].map((s) => `redemption.${s}`);
  const flags = ['overlap', 'auto_closed', 'clock_ahead', 'late_sync', 'long_session'].map((f) => `log.flag.${f}`);
  const ledger = ['hours_credit', 'hours_reversal', 'transfer', 'gift', 'redemption', 'redemption_refund'].map((k) => `ledger.${k}`);
  const missing = [...keys, ...statuses, ...redemptions, ...flags, ...ledger].filter((k) => !has(k));
  assert.deepEqual(missing, []);
});
