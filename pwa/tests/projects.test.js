// The projects area (src/areas/projects/): a micro-venture's grant from a funded proposal
// names its milestones as the server does (uuid5 over a synchronous SHA-1), weighs them
// equally as the server does, and lists only the grants a fund manager may sign.
import test from 'node:test';
import assert from 'node:assert/strict';
import { equalWeights, grantsToSign, milestoneIdOf, sha1 } from '../src/areas/projects/model.js';

const hex = (bytes) => [...bytes].map((x) => x.toString(16).padStart(2, '0')).join('');

test('SHA-1 and the milestone ids agree with Python (hashlib, uuid.uuid5)', () => {
  assert.equal(hex(sha1(new TextEncoder().encode('abc'))), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(hex(sha1(new TextEncoder().encode('a'.repeat(100)))), '7f9000257a4918d7072655ea468540cdcbd42e0c');
  assert.equal(milestoneIdOf('019371aa-0000-7000-8000-00000000000a', 'fit'), '7d3a893a-2cdc-536c-aa50-85081971754b');
});

test('equal weights sum to 100, the first ones taking the remainder', () => {
  assert.deepEqual(equalWeights(3), [34, 33, 33]);
  assert.deepEqual(equalWeights(0), []);
  assert.equal(equalWeights(7).reduce((a, b) => a + b, 0), 100);
});

test('grants to sign: funded proposals of a fund the person manages, with no project yet', () => {
  const map = (rows) => new Map(rows.map((r) => [r.id, r]));
  const view = {
    fund: map([{ id: 'f1', district: '番禺区' }]),
    round: map([{ id: 'r1', fund_id: 'f1', title: '微创投' }]),
    proposal: map([
      { id: 'p1', round_id: 'r1', group_id: 'g1', title: '扶手', status: 'funded' },
      { id: 'p2', round_id: 'r1', group_id: 'g1', title: '落选', status: 'not_funded' },
      { id: 'p3', round_id: 'r1', group_id: 'g1', title: '已签', status: 'funded' },
    ]),
    round_result: map([
      { id: 'p1', round_id: 'r1', funded: true, amount_fen: 300_000 },
      { id: 'p2', round_id: 'r1', funded: false, amount_fen: 0 },
      { id: 'p3', round_id: 'r1', funded: true, amount_fen: 100_000 },
    ]),
    service_project: map([{ id: 's3', proposal_id: 'p3' }]),
    community_group: map([{ id: 'g1', name: '互助会' }]),
  };
  const dm = { user: 'dm', role: 'district_manager', district: '番禺区' };
  assert.deepEqual(grantsToSign(view, dm).map((row) => row.proposal.id), ['p1']);
  assert.deepEqual(grantsToSign(view, { ...dm, district: '天河区' }), []);
  assert.deepEqual(grantsToSign(view, { user: 's', role: 'manager', station: 'X' }), []);
});

test('every word the grant screen asks for is in the table, in both languages', async () => {
  const { readFileSync } = await import('node:fs');
  const { PROJECTS_STRINGS } = await import('../src/areas/projects/strings.js');
  const source = readFileSync(new URL('../src/areas/projects/from-proposal.jsx', import.meta.url), 'utf8')
    + readFileSync(new URL('../src/areas/projects/list.jsx', import.meta.url), 'utf8');
  const keys = [...source.matchAll(/t\('(sp\.[a-z_.]+)'/g)].map((m) => m[1]);
  assert.ok(keys.length > 10);
  for (const key of keys) {
    assert.ok(PROJECTS_STRINGS[key], key);
    assert.ok(PROJECTS_STRINGS[key][0] && PROJECTS_STRINGS[key][1], key);
  }
});
