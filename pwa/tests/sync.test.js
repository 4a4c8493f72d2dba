// Unit tests of the sync client's pure parts, run by `node --test` (tests/test_pwa_units.py
// runs them as part of the Python suite).
import assert from 'node:assert/strict';
import test from 'node:test';
import { formatStamp, laterStamp, nextStamp, parseStamp } from '../src/sync/hlc.js';
import { BULK_LIMIT, PULL_LIMIT, nextProgress, pageLimit, parseRetryAfter } from '../src/sync/engine.js';
import { baseFor, buildView } from '../src/sync/local.js';
import { BACKOFF_CAP_MS, backoffDelay, retryDelay } from '../src/sync/runner.js';
import { registerAreaRecords } from '../scripts/area-records.mjs';

await registerAreaRecords(); // as src/areas/index.js does in the app

test('stamps have the server format and order as strings', () => {
  const a = formatStamp(1732516800123, 3, 'node-1');
  assert.equal(a, '0001732516800123:0003:node-1');
  assert.deepEqual(parseStamp(a), { ms: 1732516800123, counter: 3, node: 'node-1' });
  assert.equal(parseStamp('nonsense'), null);
  const b = nextStamp(a, 'node-1', 1732516800000); // wall clock behind the last stamp
  assert.equal(b, '0001732516800123:0004:node-1');
  assert.ok(b > a);
  assert.equal(nextStamp(a, 'n', 1732516900000), '0001732516900000:0000:n');
  assert.equal(nextStamp('0000000000000005:9999:n', 'n', 1), '0000000000000006:0000:n');
  assert.equal(laterStamp(a, b), b);
  assert.equal(laterStamp(null, a), a);
});

test('full jitter stays within the exponential ceiling and the cap', () => {
  assert.equal(backoffDelay(0, () => 0.999999) < 1000, true);
  assert.equal(backoffDelay(3, () => 1), 8000);
  assert.equal(backoffDelay(3, () => 0), 0);
  assert.equal(backoffDelay(50, () => 1), BACKOFF_CAP_MS);
});

test('Retry-After is honoured: never retry sooner than the server asked', () => {
  assert.equal(parseRetryAfter('7'), 7);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter('garbage'), null);
  const now = Date.parse('2026-11-25T10:00:00Z');
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 10:00:30 GMT', now), 30);
  assert.equal(retryDelay(0, 7, () => 0.5), 7000);
  assert.equal(retryDelay(5, 1, () => 1), 32000);
});

test('pending mutations show over the replica; two edits in a row stay sequential', () => {
  const replica = [
    { type: 'station', id: 'TH-001', data: { code: 'TH-001', name: '天河社工站', district: '天河区', field_hlc: {} } },
    { type: 'event', id: 'e1', data: { id: 'e1', station: 'TH-001', title: 'A', date: '2026-12-01', field_hlc: { title: 'h1', date: 'h1' } } },
  ];
  const outbox = [
    { id: 1, name: 'event.update', hlc: 'h2', created_at: 't', args: { id: 'e1', fields: { title: 'B' }, base: { title: 'h1' } } },
    { id: 2, name: 'event.create', hlc: 'h3', created_at: 't', args: { id: 'e2', station: 'TH-001', date: '2026-12-02', title: 'New' } },
  ];
  const view = buildView(replica, outbox, { user: 'u' });
  assert.equal(view.event.get('e1').title, 'B');
  assert.equal(view.event.get('e1').pending, true);
  assert.deepEqual(baseFor(view.event.get('e1'), { title: 'C', date: '2026-12-03' }), { title: 'h2', date: 'h1' });
  assert.equal(view.event.get('e2').district, '天河区');
  assert.equal(view.event.get('e2').field_hlc.title, 'h3');
  assert.equal(buildView(replica, [], null).event.get('e1').title, 'A');
});

test('new ids are UUIDv7: version, variant, the millisecond first, in the order made', async () => {
  const { uuid7 } = await import('../src/sync/ids.js');
  const id = uuid7(1732516800123);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), 1732516800123);
  assert.ok(uuid7(1732516800124) > id);
  assert.notEqual(uuid7(1732516800123), id);
});

test('a long pull takes bigger pages, within the server\'s bounds', () => {
  assert.equal(pageLimit(null), PULL_LIMIT); // catch-ups and old servers: the default page
  assert.equal(pageLimit(0), PULL_LIMIT);
  assert.equal(pageLimit(1500), PULL_LIMIT);
  assert.equal(pageLimit(50000), 2500); // a first sync of 50,000 in about 20 steps
  assert.equal(pageLimit(10_000_000), BULK_LIMIT);
  assert.ok(BULK_LIMIT <= 10000);
});

test('pull progress counts up to the total and never past it', () => {
  let p = nextProgress({ done: 0, total: null }, 500, { more: true, remaining: 49500 });
  assert.deepEqual(p, { done: 500, total: 50000 });
  p = nextProgress(p, 2475, { more: true });
  assert.deepEqual(p, { done: 2975, total: 50000 });
  // more arrived than counted: the total grows, the bar stays below 100 % until the end
  p = nextProgress({ done: 49000, total: 50000 }, 2000, { more: true });
  assert.deepEqual(p, { done: 51000, total: 51001 });
  assert.deepEqual(nextProgress(p, 10, { more: false }), { done: 51010, total: 51010 });
  // resumed after a reload: the count carried over, the server counts what is left
  assert.deepEqual(nextProgress({ done: 12000, total: null }, 2475, { more: true, remaining: 35525 }),
    { done: 14475, total: 50000 });
  // an old server says nothing: counts only
  assert.deepEqual(nextProgress({ done: 0, total: null }, 500, { more: true }), { done: 500, total: null });
});
