// Who sets an app lock PIN (src/areas/account/policy.js): the stations' `pin_required`
// decides for staff and managers, district managers and admins always, volunteers never.
import test from 'node:test';
import assert from 'node:assert/strict';
import { pinRequiredFor } from '../src/areas/account/policy.js';

const view = (...stations) => ({ station: new Map(stations.map((s) => [s.code, s])) });
const me = (...memberships) => ({ user: 'u', role: memberships[0]?.role, memberships });

test('staff follow their station; a record from before the setting counts as on', () => {
  const relaxed = { code: 'A', pin_required: false };
  const strict = { code: 'B', pin_required: true };
  const old = { code: 'C' };
  assert.equal(pinRequiredFor(me({ role: 'staff', station: 'A' }), view(relaxed)), false);
  assert.equal(pinRequiredFor(me({ role: 'manager', station: 'B' }), view(strict)), true);
  assert.equal(pinRequiredFor(me({ role: 'staff', station: 'C' }), view(old)), true);
  // any station of theirs that requires it is enough
  assert.equal(pinRequiredFor(me({ role: 'staff', station: 'A' }, { role: 'staff', station: 'B' }), view(relaxed, strict)), true);
});

test('volunteers never, district managers and admins always, unknown stations wait', () => {
  const strict = { code: 'B', pin_required: true };
  assert.equal(pinRequiredFor(me({ role: 'volunteer', station: 'B' }), view(strict)), false);
  assert.equal(pinRequiredFor(me({ role: 'district_manager', district: '天河区' }), view()), true);
  assert.equal(pinRequiredFor(me({ role: 'admin' }), view()), true);
  assert.equal(pinRequiredFor(me({ role: 'staff', station: 'X' }), view()), null); // not pulled yet
  assert.equal(pinRequiredFor(me({ role: 'staff', station: 'X' }, { role: 'volunteer', station: 'B' }), view(strict)), null);
  // an older `me` without memberships: its role and station
  assert.equal(pinRequiredFor({ role: 'staff', station: 'B' }, view(strict)), true);
  assert.equal(pinRequiredFor(null, view(strict)), false);
});
