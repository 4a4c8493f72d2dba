// The upload queue's resume logic (src/sync/files.js uploadFile) against a fake server
// behind a fake transport: chunks from the server's `received`, a connection lost half way
// and resumed, a 409 offset_mismatch followed, a finished file never sent again, refusals
// kept with the server's reason. No IndexedDB: uploadFile takes `save` from its caller.
import assert from 'node:assert/strict';
import test from 'node:test';
import { sha256Hex, uploadFile } from '../src/sync/files.js';

const CHUNK = 1000;

/** A server holding uploads by sha256, speaking the contract of docs/protocol.md "Files".
 *  `cutAfter`: the transport fails (as a lost connection) after that many PATCH calls. */
function fakeServer({ chunk = CHUNK, cutAfter = Infinity, refuse = null } = {}) {
  const held = new Map(); // sha -> Uint8Array so far
  const done = new Map();
  const calls = [];
  let patches = 0;
  const json = (status, body) => ({ status, headers: { get: () => null }, json: async () => body });
  const state = (sha, size, mt) => ({ sha256: sha, size, media_type: mt, received: done.has(sha) ? size : (held.get(sha)?.length || 0), complete: done.has(sha), chunk_size: chunk });
  const server = {
    calls, held, done,
    async fetch(path, init) {
      calls.push({ method: init.method, path, offset: init.headers['Upload-Offset'] ?? null });
      if (init.method === 'POST') {
        const body = JSON.parse(init.body);
        if (refuse) return json(refuse.status, { code: refuse.code, message: { zh: '拒收', en: 'refused' } });
        if (!held.has(body.sha256) && !done.has(body.sha256)) held.set(body.sha256, new Uint8Array(0));
        server.meta = body;
        return json(200, state(body.sha256, body.size, body.media_type));
      }
      if (init.method === 'PATCH') {
        if (++patches > cutAfter) throw new TypeError('Failed to fetch');
        const sha = path.split('/').pop();
        const offset = Number(init.headers['Upload-Offset']);
        const have = held.get(sha);
        if (!have) return json(404, { code: 'not_found' });
        if (offset !== have.length) return json(409, { code: 'offset_mismatch', received: have.length });
        const bytes = new Uint8Array(await init.body.arrayBuffer());
        assert.ok(bytes.length <= chunk, 'never more than chunk_size');
        const next = new Uint8Array(have.length + bytes.length);
        next.set(have);
        next.set(bytes, have.length);
        held.set(sha, next);
        if (next.length === server.meta.size) {
          assert.equal(await sha256Hex(next.buffer), sha, 'the bytes the server got are the file');
          done.set(sha, next);
          held.delete(sha);
        }
        return json(200, state(sha, server.meta.size, server.meta.media_type));
      }
      throw new Error(`unexpected ${init.method}`);
    },
  };
  return server;
}

async function entryOf(size) {
  const bytes = new Uint8Array(size).map((_, i) => (i * 7 + 3) % 256);
  const blob = new Blob([bytes], { type: 'image/jpeg' });
  return { sha256: await sha256Hex(blob), size, media_type: 'image/jpeg', kind: 'photo', blob, state: 'queued', received: 0 };
}

test('a file goes in chunks and ends done, with progress at each chunk', async () => {
  const server = fakeServer();
  const entry = await entryOf(3500);
  const saved = [];
  const seen = [];
  const final = await uploadFile(entry, { token: 't', sendFn: server.fetch, save: async (e) => saved.push(e), progress: (e) => seen.push(e.received) });
  assert.equal(final.state, 'done');
  assert.ok(server.done.has(entry.sha256));
  assert.deepEqual(server.calls.filter((c) => c.method === 'PATCH').map((c) => c.offset), ['0', '1000', '2000', '3000']);
  assert.deepEqual(seen, [0, 1000, 2000, 3000, 3500]);
  assert.equal(saved.at(-1).state, 'done');
});

test('a connection lost half way resumes from the server\'s received, not from zero', async () => {
  const server = fakeServer({ cutAfter: 2 });
  const entry = await entryOf(4200);
  let stored = entry;
  const save = async (e) => { stored = e; };
  await assert.rejects(uploadFile(entry, { token: 't', sendFn: server.fetch, save }), (err) => err.kind === 'transient' && err.status === 0);
  assert.equal(stored.received, 2000, 'what the phone kept after two chunks');
  assert.equal(server.held.get(entry.sha256).length, 2000);
  // a reload: the stored entry is read again and the queue tries once more
  server.calls.length = 0;
  const again = fakeServer();
  again.held.set(entry.sha256, server.held.get(entry.sha256));
  const final = await uploadFile(stored, { token: 't', sendFn: again.fetch, save });
  assert.equal(final.state, 'done');
  assert.deepEqual(again.calls.map((c) => [c.method, c.offset]), [['POST', null], ['PATCH', '2000'], ['PATCH', '3000'], ['PATCH', '4000']]);
});

test('the phone believes more arrived than did (a lost answer): 409 offset_mismatch sets it right', async () => {
  const server = fakeServer();
  const entry = await entryOf(2500);
  server.held.set(entry.sha256, new Uint8Array(await entry.blob.slice(0, 1000).arrayBuffer()));
  // POST answers received=1000; another phone sends the second chunk before this one's
  // PATCH arrives, so the server holds 2000 and answers 409 with it.
  const realFetch = server.fetch;
  let first = true;
  const racing = async (path, init) => {
    if (init.method === 'PATCH' && first) {
      first = false;
      const other = new Uint8Array(await entry.blob.slice(0, 2000).arrayBuffer());
      server.held.set(entry.sha256, other);
    }
    return realFetch(path, init);
  };
  const final = await uploadFile(entry, { token: 't', sendFn: racing, save: async () => {} });
  assert.equal(final.state, 'done');
  assert.deepEqual(server.calls.filter((c) => c.method === 'PATCH').map((c) => c.offset), ['1000', '2000']);
});

test('a file the server already has (another phone sent it) is not sent again', async () => {
  const server = fakeServer();
  const entry = await entryOf(1500);
  server.done.set(entry.sha256, new Uint8Array(1500));
  const final = await uploadFile(entry, { token: 't', sendFn: server.fetch, save: async () => {} });
  assert.equal(final.state, 'done');
  assert.deepEqual(server.calls.map((c) => c.method), ['POST']);
});

test('a refused file keeps the server\'s reason and is not retried; a busy server is retried later', async () => {
  const entry = await entryOf(100);
  for (const [status, code] of [[413, 'file_too_large'], [415, 'file_type_not_allowed']]) {
    const server = fakeServer({ refuse: { status, code } });
    const final = await uploadFile(entry, { token: 't', sendFn: server.fetch, save: async () => {} });
    assert.equal(final.state, 'refused');
    assert.equal(final.error.code, code);
    assert.deepEqual(final.error.message, { zh: '拒收', en: 'refused' });
  }
  const busy = fakeServer({ refuse: { status: 429, code: 'too_many_uploads' } });
  await assert.rejects(uploadFile(entry, { token: 't', sendFn: busy.fetch, save: async () => {} }), (err) => err.kind === 'transient' && err.status === 429);
});

test('sha256Hex is the hex SHA-256', async () => {
  assert.equal(await sha256Hex(new Blob(['abc'])), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
