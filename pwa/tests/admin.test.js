// The console's local versions (src/areas/admin/overlay.js) and who-may-grant rules
// (scope.js): what an administrator does offline shows at once, and the role choices
// match the server's may_grant.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_OVERLAY, personFrom } from '../src/areas/admin/overlay.js';
import { grantable, rankAt, stationsFor } from '../src/areas/admin/scope.js';

function view() {
  return {
    station: new Map([['TH-1', { code: 'TH-1', name: '天河站', district: '天河区' }], ['YX-1', { code: 'YX-1', name: '越秀站', district: '越秀区' }]]),
    district: new Map(), membership: new Map(), fund: new Map(), project: new Map(),
    redemption_item: new Map(), timebank_rate: new Map(),
  };
}
const m = (extra = {}) => ({ created_at: '2026-11-28T06:00:00Z', hlc: '0001', ...extra });

test('person.create with a membership lists the person at the station, offline', () => {
  const v = view();
  ADMIN_OVERLAY['person.create'](v, { id: 'p1', name: '王芳', phone: '139', membership: { id: 'm1', role: 'volunteer', station: 'TH-1' } }, m(), { user: 'admin' });
  const row = v.membership.get('m1');
  assert.equal(row.user_id, 'p1');
  assert.equal(row.district, '天河区');
  assert.equal(row.pending, true);
  assert.equal(personFrom(v, 'p1').name, '王芳');
  ADMIN_OVERLAY['membership.end'](v, { id: 'm1' }, m({ created_at: '2026-11-28T07:00:00Z' }));
  assert.equal(v.membership.get('m1').ended_at, '2026-11-28T07:00:00Z');
});

test('station.create adds its district; seed money raises the balance; restock adds up', () => {
  const v = view();
  ADMIN_OVERLAY['station.create'](v, { code: 'HZ-1', name: '海珠站', district: '海珠区' }, m());
  assert.ok(v.station.get('HZ-1').pending);
  assert.ok(v.district.has('海珠区'));
  ADMIN_OVERLAY['fund.create'](v, { id: 'f1', name: '助老基金', district: '海珠区' }, m(), { user: 'admin' });
  ADMIN_OVERLAY['fund.seed'](v, { id: 's1', fund_id: 'f1', amount_fen: 100000 }, m());
  ADMIN_OVERLAY['fund.seed'](v, { id: 's2', fund_id: 'f1', amount_fen: 50 }, m());
  assert.equal(v.fund.get('f1').balance_fen, 100050);
  ADMIN_OVERLAY['catalogue.add'](v, { id: 'i1', station: 'TH-1', title: '大米', kind: 'goods', cost_cents: 300, stock: 5 }, m(), {});
  ADMIN_OVERLAY['catalogue.restock'](v, { id: 'i1', delta: 3 }, m());
  ADMIN_OVERLAY['catalogue.restock'](v, { id: 'i1', delta: -2 }, m());
  assert.equal(v.redemption_item.get('i1').stock, 6);
  ADMIN_OVERLAY['timebank.set_rate'](v, { station: 'TH-1', service_type: 'elder_care', rate_cents: 150 }, m(), {});
  assert.equal(v.timebank_rate.get('TH-1:elder_care').rate_cents, 150);
});

test('who may grant what where follows rank_at and may_grant', () => {
  const v = view();
  const manager = { user: 'm', role: 'manager', station: 'TH-1', memberships: [{ role: 'manager', station: 'TH-1', district: '天河区' }] };
  assert.deepEqual(grantable(manager, 'TH-1', '天河区'), ['volunteer', 'staff', 'manager']);
  assert.deepEqual(grantable(manager, 'YX-1', '越秀区'), []);
  const staff = { user: 's', role: 'staff', station: 'TH-1', district: '天河区' }; // an older /me answer
  assert.equal(rankAt(staff, 'TH-1', '天河区'), 1);
  assert.deepEqual(grantable(staff, 'TH-1', '天河区'), []);
  const dm = { user: 'd', role: 'district_manager', memberships: [{ role: 'district_manager', station: null, district: '越秀区' }] };
  assert.deepEqual(stationsFor(dm, v.station, 'manager').map((s) => s.code), ['YX-1']);
  assert.deepEqual(grantable(dm, null, '越秀区'), ['district_manager']);
  const admin = { user: 'a', role: 'admin', memberships: [{ role: 'admin', station: null, district: null }] };
  assert.deepEqual(grantable(admin, null, null), ['admin']);
  assert.equal(stationsFor(admin, v.station, 'staff').length, 2);
});
