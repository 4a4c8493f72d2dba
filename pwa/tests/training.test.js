// The training area (src/areas/training/): every word its screens ask for exists in both
// languages, and the overlay's counts follow the server's rules (docs/training.md).
import test from 'node:test';
import assert from 'node:assert/strict';

test('every word the training screens ask for is in the table, in both languages', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const { addStrings, has } = await import('../src/i18n.js');
  const { TRAINING_STRINGS } = await import('../src/areas/training/strings.js');
  const { TIMEBANK_STRINGS } = await import('../src/areas/timebank/strings.js');
  addStrings(TRAINING_STRINGS);
  addStrings(TIMEBANK_STRINGS); // the expiry line is the volunteer code's
  const dir = new URL('../src/areas/training/', import.meta.url);
  const keys = new Set();
  for (const file of readdirSync(dir)) {
    for (const m of readFileSync(new URL(file, dir), 'utf8').matchAll(/\bt\('([\w.]+)'/g)) keys.add(m[1]);
  }
  const built = [
    ...['charity_day', 'social_work_week', '99_giving_day', 'other'].map((o) => `training.occasion.${o}`),
    ...['all', 'volunteers', 'staff', 'residents'].map((a) => `training.audience.${a}`),
    ...['confirmed', 'attended', 'cancelled'].map((s) => `training.status.${s}`),
    ...[0, 1, 2, 3, 4, 5, 6].map((d) => `training.weekday.${d}`),
    ...['score', 'useful'].map((n) => `training.feedback_${n}`),
  ];
  const missing = [...keys, ...built].filter((k) => !has(k));
  assert.deepEqual(missing, []);
  for (const [key, value] of Object.entries(TRAINING_STRINGS)) {
    assert.ok(Array.isArray(value) && value.length === 2 && value[0] && value[1], key);
  }
});

test('a withdrawal gives the seat to the first waiting, as the server does', async () => {
  const { TRAINING_OVERLAY } = await import('../src/areas/training/overlay.js');
  const training = { id: 't1', capacity: 1, confirmed: 1, waitlisted: 2, attended: 0, status: 'open', station: 'S', district: 'D', hours: 2 };
  const signup = (id, user, status, position) => ({ id, training_id: 't1', user, name: user, status, position, signed_up_at: id });
  const view = {
    training: new Map([['t1', training]]),
    training_signup: new Map([['a', signup('a', 'ann', 'confirmed', null)], ['b', signup('b', 'bo', 'waitlisted', 1)], ['c', signup('c', 'cai', 'waitlisted', 2)]]),
    training_feedback: new Map(),
  };
  TRAINING_OVERLAY['training.withdraw'](view, { training_id: 't1' }, { created_at: 'now' }, { user: 'ann' });
  assert.equal(view.training_signup.get('a').status, 'cancelled');
  assert.equal(view.training_signup.get('b').status, 'confirmed');
  assert.equal(view.training_signup.get('c').position, 1);
  assert.deepEqual([view.training.get('t1').confirmed, view.training.get('t1').waitlisted], [1, 1]);
  // a second sign-up of the same person shows nothing new (the server refuses it)
  TRAINING_OVERLAY['training.signup'](view, { id: 'x', training_id: 't1' }, { created_at: 'now' }, { user: 'bo' });
  assert.equal(view.training_signup.has('x'), false);
});
