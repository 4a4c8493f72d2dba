// The micro-venture round's arithmetic on the phone (src/areas/programme/model.js) and its
// local versions: budget lines, the weighted score, the ballot's running total against the
// budget, the booth's same-resident check, a resident's own need and ballot.
import assert from 'node:assert/strict';
import test from 'node:test';
import { buildView } from '../src/sync/local.js';
import { ballotSum, budgetTotal, fenOf, nextPhase, voterKeyLocal, weightedScore, yuanText } from '../src/areas/programme/model.js';
import { registerAreaRecords } from '../scripts/area-records.mjs';

await registerAreaRecords();

const row = (id, name, args) => ({ id, name, args, hlc: `000000000000${id}:0000:c`, created_at: '2026-11-28T02:00:00.000Z' });
const round = { id: 'r1', station: 'S1', district: 'D', budget_fen: 1_000_000, phase: 'voting' };
const proposals = [['p1', 350_000], ['p2', 500_000], ['p3', 400_000]].map(([id, price]) => (
  { type: 'proposal', id, data: { id, round_id: 'r1', status: 'feasible', title: id, budget_total_fen: price + 5, adjusted_price_fen: price } }));
const replica = [{ type: 'round', id: 'r1', data: round }, ...proposals];

test('amounts typed in yuan, budget lines and their total', () => {
  assert.equal(fenOf('80.5'), 8050);
  assert.equal(fenOf('1,000'), 100000);
  assert.ok(Number.isNaN(fenOf('1.234')));
  assert.ok(Number.isNaN(fenOf('-3')));
  assert.equal(yuanText(8050), '80.50');
  assert.equal(yuanText(100000), '1000');
  assert.equal(budgetTotal([{ quantity: 20, unit_cost_fen: 15000 }, { quantity: 10, unit_cost_fen: 8050 }]), 380500);
});

test('the weighted score waits for every criterion', () => {
  const criteria = [{ key: 'a', weight: 30 }, { key: 'b', weight: 70 }];
  assert.equal(weightedScore(criteria, { a: 10 }), null);
  assert.equal(weightedScore(criteria, { a: 10, b: 5 }), 65);
  assert.equal(nextPhase('review'), 'voting');
  assert.equal(nextPhase('closed'), null);
});

test('a ballot counts adjusted prices against the budget', () => {
  const view = buildView(replica, [], null);
  assert.deepEqual(ballotSum(view, round, ['p1', 'p3']), { total: 750_000, budget: 1_000_000, left: 250_000, over: false });
  assert.equal(ballotSum(view, round, ['p1', 'p2', 'p3']).over, true);
});

test('the booth knows one resident by name and phone however typed', () => {
  assert.equal(voterKeyLocal('张 阿姨', '138 0000 1111'), voterKeyLocal('张阿姨', '+86 13800001111'));
  assert.notEqual(voterKeyLocal('张阿姨', '13800001111'), voterKeyLocal('张阿姨', '13800001112'));
});

test('a resident\'s own need shows as public, a staff one as taken at the booth', () => {
  const staff = { user: 'st', role: 'staff', station: 'S1' };
  const resident = { user: 'res', role: 'volunteer', station: 'S1' };
  const args = { id: 'n1', round_id: 'r1', category: 'elderly', community: 'c', description: 'd', raised_via: 'booth' };
  assert.equal(buildView(replica, [row(1, 'need.submit', args)], staff).need.get('n1').raised_via, 'booth');
  const own = buildView(replica, [row(1, 'need.submit', args)], resident).need.get('n1');
  assert.equal(own.raised_via, 'public');
  assert.equal(own.district, 'D');
});

test('an own-phone ballot shows at once with its total', () => {
  const view = buildView(replica, [row(1, 'ballot.cast', { id: 'b1', round_id: 'r1', proposal_ids: ['p1', 'p3'] })], { user: 'res', role: 'volunteer' });
  const ballot = view.ballot.get('b1');
  assert.equal(ballot.total_fen, 750_000);
  assert.equal(ballot.voter_key, 'user:res');
  assert.equal(ballot.status, 'counted');
});
