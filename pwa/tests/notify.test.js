// Unit tests of the notification parts without a browser: the overlay of marks and
// settings, and what the service worker opens and says.
import assert from 'node:assert/strict';
import test from 'node:test';
import { buildView } from '../src/sync/local.js';
import { pickText, safeUrl } from '../src/areas/notify/sw-push.js';
import { fromB64url, toB64url } from '../src/areas/notify/push.js';
import { registerAreaRecords } from '../scripts/area-records.mjs';

await registerAreaRecords(); // as src/areas/index.js does in the app

const note = (id, created_at, read_at = null) => ({ type: 'notification', id, data: { id, kind: 'fund.low', created_at, read_at } });
const pending = (id, name, args) => ({ id, name, args, hlc: `000000000000${id}:0000:c`, created_at: '2026-11-25T09:00:00.000Z' });

test('marks show at once: read, unread again, all read up to what was seen', () => {
  const replica = [note('a', '2026-11-25T08:00:00.000Z'), note('b', '2026-11-25T08:30:00.000Z', '2026-11-25T08:40:00.000Z'), note('c', '2026-11-25T08:50:00.000Z')];
  let view = buildView(replica, [pending(1, 'notification.mark_read', { ids: ['a'], read: true }), pending(2, 'notification.mark_read', { ids: ['b'], read: false })], null);
  assert.equal(view.notification.get('a').read_at, '2026-11-25T09:00:00.000Z');
  assert.equal(view.notification.get('a').pending, true);
  assert.equal(view.notification.get('b').read_at, null);
  view = buildView(replica, [pending(1, 'notification.mark_all_read', { up_to: '2026-11-25T08:30:00.000Z' })], null);
  assert.ok(view.notification.get('a').read_at);
  assert.equal(view.notification.get('c').read_at, null); // newer than what the phone had seen
});

test('settings and alert lines show at once', () => {
  const me = { user: 'mgr', role: 'manager', station: 'TH-001' };
  const replica = [{ type: 'station', id: 'TH-001', data: { code: 'TH-001', district: '天河区' } }];
  const view = buildView(replica, [
    pending(1, 'notification_prefs.set', { fields: { muted_kinds: ['phone.stale'], quiet_start: '22:00', quiet_end: '07:00' }, base: {} }),
    pending(2, 'alert.set_donation_threshold', { station: 'TH-001', amount_fen: 200000 }),
  ], me);
  const prefs = view.notification_prefs.get('mgr');
  assert.deepEqual(prefs.muted_kinds, ['phone.stale']);
  assert.equal(prefs.push_enabled, true);
  assert.equal(prefs.field_hlc.quiet_start, '0000000000001:0000:c');
  const line = view.alert_threshold.get('large_donation:TH-001');
  assert.equal(line.amount_fen, 200000);
  assert.equal(line.district, '天河区');
});

test('the worker opens only app routes and speaks the app language', () => {
  assert.equal(safeUrl('/#/donations/1'), '/#/donations/1');
  assert.equal(safeUrl('https://evil.example/'), '/#/inbox');
  assert.equal(safeUrl('//evil.example/#/x'), '/#/inbox');
  assert.equal(safeUrl(undefined), '/#/inbox');
  assert.equal(pickText({ zh: '大额捐赠', en: 'Large donation' }, 'en'), 'Large donation');
  assert.equal(pickText({ zh: '大额捐赠', en: 'Large donation' }, 'zh'), '大额捐赠');
  assert.equal(pickText({ zh: '只有中文' }, 'en'), '只有中文');
});

test('base64url keys round-trip', () => {
  const bytes = Uint8Array.from({ length: 65 }, (_, i) => (i * 37) % 256);
  const text = toB64url(bytes);
  assert.ok(!/[+/=]/.test(text));
  assert.deepEqual(fromB64url(text), bytes);
});
