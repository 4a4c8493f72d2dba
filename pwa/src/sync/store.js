// The phone's durable state in IndexedDB (through `idb`), shared by every tab and the
// service worker. Layout (docs/pwa.md):
//   meta      key -> value: client_id, next_id, cursor, last_mutation_id, hlc (high-water
//             stamp), token, me (who the token is), last_sync_at, sync_state (the
//             leading tab's phase), retry_at and last_error (the wait after a failure)
//   outbox    the pending mutations, keyPath id (client-assigned, increasing)
//   replica   server data, keyPath [type, id], index "type"
//   outcomes  rejected / flagged answers kept for the user, keyPath key (the mutation's
//             UUID, which survives renumbering), with a `dismissed` flag
//   files     photos and PDFs waiting for or done with their upload, keyPath sha256
//             (src/sync/files.js): {sha256, size, media_type, kind, blob, state, received, ...}
import { openDB } from 'idb';

export const DB_NAME = 'charity';
const DB_VERSION = 2; // 2: the files store

let opening = null;

export function openStore() {
  if (!opening) {
    opening = openDB(DB_NAME, DB_VERSION, {
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore('meta');
          db.createObjectStore('outbox', { keyPath: 'id' });
          db.createObjectStore('replica', { keyPath: ['type', 'id'] }).createIndex('type', 'type');
          db.createObjectStore('outcomes', { keyPath: 'key' });
        }
        if (oldVersion < 2) db.createObjectStore('files', { keyPath: 'sha256' });
      },
      blocking() {
        // A newer build wants to upgrade the schema: let it.
        opening?.then((db) => db.close());
        opening = null;
      },
    });
  }
  return opening;
}

export async function getMeta(key) {
  return (await openStore()).get('meta', key);
}

export async function setMeta(key, value) {
  return (await openStore()).put('meta', value, key);
}

export async function deleteMeta(key) {
  return (await openStore()).delete('meta', key);
}

/** Every meta value as one object. */
export async function allMeta() {
  const db = await openStore();
  const tx = db.transaction('meta');
  const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()]);
  return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
}

/** Records per read of the replica: one getAll of a district's 50,000 records turns them
 *  all into objects in one task (a few hundred ms with the screen frozen); chunks of this
 *  size each take a short task, and the page stays responsive between them. */
export const READ_CHUNK = 2000;

/** The whole replica, in key order, read a chunk at a time. */
export async function readReplica(db) {
  const rows = [];
  let range = null;
  for (;;) {
    const chunk = await db.getAll('replica', range, READ_CHUNK);
    for (const row of chunk) rows.push(row);
    if (chunk.length < READ_CHUNK) return rows;
    const last = chunk[chunk.length - 1];
    range = IDBKeyRange.lowerBound([last.type, last.id], true);
  }
}

export const STORES = ['meta', 'outbox', 'replica', 'outcomes', 'files'];

/** Forget everything this phone holds (replica, outbox, outcomes, files, token, PIN) in one
 *  transaction: a lost phone's wipe and a sign-out. `notice` ({code, message}) stays, for
 *  the enrol screen to say why. The device id lives elsewhere (areas/account/device.js). */
export async function forgetAll(notice = null) {
  const db = await openStore();
  const tx = db.transaction(STORES, 'readwrite');
  await Promise.all(STORES.map((name) => tx.objectStore(name).clear()));
  if (notice) await tx.objectStore('meta').put({ ...notice, at: new Date().toISOString() }, 'notice');
  await tx.done;
  if (typeof BroadcastChannel !== 'undefined') {
    const channel = new BroadcastChannel('charity-sync');
    channel.postMessage({ type: 'changed' });
    channel.close();
  }
}

/** A fresh client id and counter (first start, new token, or a server that cannot place
 *  our ids). Pending mutations keep their order and their keys, renumbered from 1, so the
 *  server still recognises any it already applied. */
export async function rekey(db, reason) {
  const tx = db.transaction(['meta', 'outbox'], 'readwrite');
  const meta = tx.objectStore('meta');
  const outbox = tx.objectStore('outbox');
  const rows = await outbox.getAll();
  await outbox.clear();
  let id = 1;
  for (const row of rows) await outbox.put({ ...row, id: id++ });
  await meta.put(crypto.randomUUID(), 'client_id');
  await meta.put(id, 'next_id');
  await meta.put(null, 'cursor');
  await meta.put(0, 'last_mutation_id');
  await meta.put(reason, 'rekey_reason');
  await tx.done;
}
