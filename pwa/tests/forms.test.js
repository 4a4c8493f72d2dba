// The phone checks each mutation's args with validators compiled from the server's own
// JSON Schema (scripts/validators.mjs); a refusal names the field in Chinese and English.
import assert from 'node:assert/strict';
import test from 'node:test';
import { checkArgs, errorAt, fieldErrors, otherErrors } from '../src/ui/forms.js';

const donation = (patch = {}) => ({
  id: '018f3a4e-0000-7000-8000-000000000001', station: 'S1', kind: 'money', amount_fen: 1000, method: 'cash',
  event_id: null, direction: 'undirected', note: '', receipt: null,
  donor: { anonymous: true, name: null, organisation: null, phone: null, wants_receipt: false, public_name_consent: false },
  ...patch,
});

test('a valid gift passes; 100,000,000.01 yuan is refused on amount_fen with the limit in yuan', async () => {
  assert.equal(await checkArgs('donation.record', donation()), null);
  const fields = await checkArgs('donation.record', donation({ amount_fen: 10_000_000_001 }));
  assert.deepEqual(Object.keys(fields), ['amount_fen']);
  assert.match(fields.amount_fen.zh, /不能超过 ¥100,000,000\.00/);
  assert.match(fields.amount_fen.en, /at most ¥100,000,000\.00/);
});

test('nested fields are named by path; a too-long note by its length', async () => {
  const fields = await checkArgs('donation.record', donation({
    kind: 'goods', amount_fen: null, method: null,
    items: [{ name: '', quantity: 1, unit: '件', estimated_value_fen: 0 }], note: 'x'.repeat(4001),
  }));
  assert.ok(fields['items.0.name'], JSON.stringify(fields));
  assert.equal(fields['items.0.name'].zh, '不能为空');
  assert.match(fields.note.en, /at most 4000 characters/);
  assert.equal(errorAt(fields, 'items.0'), fields['items.0.name']);
  assert.deepEqual(otherErrors(fields, ['items', 'note']), []);
});

test('hours.manual and activity.create are checked too; an unknown mutation is left to the server', async () => {
  const base = { id: '018f3a4e-0000-7000-8000-000000000002', activity_id: '018f3a4e-0000-7000-8000-000000000003',
    check_in_at: '2026-11-25T01:00:00.000Z', check_out_at: '2026-11-25T03:00:00.000Z', note: '' };
  assert.equal(await checkArgs('hours.manual', base), null);
  assert.ok((await checkArgs('hours.manual', { ...base, check_in_at: 'yesterday' })).check_in_at);
  const activity = await checkArgs('activity.create', { id: base.id, station: 'S1', title: '', service_type: 'elder_care', date: '2026-11-25' });
  assert.deepEqual(Object.keys(activity), ['title']);
  assert.equal(await checkArgs('no.such', {}), null);
});

test('a missing property is named by its own path', () => {
  const fields = fieldErrors([{ instancePath: '/donor', keyword: 'required', params: { missingProperty: 'anonymous' } }]);
  assert.deepEqual(Object.keys(fields), ['donor.anonymous']);
});
