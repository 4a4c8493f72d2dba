// Issue 18 ("Staff and donors"): English plurals from one rule, the phone's clock measured
// against the server's at each pull, and the day the screens use taken from that measure.
import assert from 'node:assert/strict';
import test from 'node:test';
import { plural } from '../src/i18n.js';
import { clockSkew } from '../src/sync/engine.js';
import { clockOff, dateTimeOf, personName, serverNow, todayIso } from '../src/ui/format.js';

test('English plurals: one is singular, shown decimals and everything else plural', () => {
  const text = '{n} {n|credit|credits}';
  assert.equal(plural(text, { n: 1 }), '{n} credit');
  assert.equal(plural(text, { n: '1' }), '{n} credit');
  assert.equal(plural(text, { n: 2 }), '{n} credits');
  assert.equal(plural(text, { n: 0 }), '{n} credits');
  assert.equal(plural(text, { n: '2.02' }), '{n} credits');
  assert.equal(plural(text, { n: '1.00' }), '{n} credits');
  assert.equal(plural(text, { n: '1,000' }), '{n} credits');
  assert.equal(plural('{n} {n|item is|items are} waiting', { n: 1 }), '{n} item is waiting');
  // a text without the parameter is left alone (a later substitution may still fill it)
  assert.equal(plural('{cost|credit|credits}', { n: 1 }), '{cost|credit|credits}');
});

test('the skew is the server time less the midpoint of the request', () => {
  const sent = Date.parse('2026-11-27T08:00:00.000Z');
  const skew = clockSkew('2026-11-28T08:00:01.000Z', sent, sent + 2000);
  assert.equal(skew.ms, 86400000); // a day behind: the server stamped its answer midway
  assert.equal(skew.rtt, 2000);
  assert.equal(clockSkew('', sent, sent + 10), null); // an older server sends no time
});

test('the day and the warning follow the measured skew', () => {
  const day = 86400000;
  const meta = { clock_skew: { ms: day } };
  assert.equal(todayIso(serverNow(meta)), todayIso(new Date(Date.now() + day)));
  assert.equal(clockOff(meta, 5), day);
  assert.equal(clockOff({ clock_skew: { ms: 4 * 60000 } }, 5), 0);
  assert.equal(clockOff({ clock_skew: { ms: -6 * 60000 } }, 5), -6 * 60000);
  assert.equal(clockOff({}, 5), 0);
  assert.match(dateTimeOf('2026-11-28T03:55:00.000Z'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
});

test('a person is named by the name this phone holds, else by the user id', () => {
  const view = {
    membership: new Map([['m1', { user_id: 'mgr-db', name: '王芳' }], ['m2', { user_id: 'nameless', name: '' }],
      ['m3', { user_id: 'vol-1', name: 'vol-1' }]]),
    volunteer: new Map([['vol-1', { name: '陈静' }]]),
  };
  assert.equal(personName(view, 'mgr-db'), '王芳');
  assert.equal(personName(view, 'vol-1'), '陈静');
  assert.equal(personName(view, 'nameless'), 'nameless');
  assert.equal(personName(view, 'elsewhere'), 'elsewhere');
  assert.equal(personName(view, null), '');
  assert.equal(personName(view, 'me-1', { user: 'me-1', name: '李娜' }), '李娜');
  assert.equal(personName({ volunteer: new Map([['row-9', { user_id: 'vol-9', name: '赵敏' }]]) }, 'vol-9'), '赵敏');
});
