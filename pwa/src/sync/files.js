// The file queue: photos and PDFs kept in IndexedDB (store `files`, keyed by SHA-256) and
// uploaded beside the mutation queue with the resumable protocol of docs/protocol.md
// ("Files"): POST /api/v1/files starts or resumes and answers what the server holds
// (`received`); PATCH /api/v1/files/{sha256} sends the bytes from that offset, one chunk at
// a time. A reload or a lost connection resumes from the server's `received`; a finished
// file answers complete and is never sent again; the same file twice is one entry.
//
// A file is `draft` while the form that took it is still open (never sent: the photo of a
// form that is thrown away never leaves the phone), `queued` once the record referring to
// it was saved, then `done` or `refused` (the server's reason kept for the user).
// Like the rest of src/sync/, no area and no screen is imported here.
import { SyncError, parseRetryAfter } from './engine.js';
import { retryDelay } from './runner.js';
import { openStore } from './store.js';
import { send } from './transport.js';
import { APP_VERSION, VERSION_HEADER } from './version.js';

export const FILES_PATH = '/api/v1/files';
/** Used until the server names its own chunk size. */
export const DEFAULT_CHUNK = 256 * 1024;
/** A draft no saved record took is dropped after a day (as form drafts are); a file that
 *  reached the server stays on the phone for a month (shown offline), then is fetched. */
export const DRAFT_FILE_TTL_MS = 24 * 3600 * 1000;
export const DONE_FILE_TTL_MS = 30 * 24 * 3600 * 1000;
const FILES_LOCK = 'charity-files-run';
const FILES_CHANNEL = 'charity-files';
/** Consecutive 409 offset_mismatch answers before the upload is left for the next try. */
const MAX_MISMATCHES = 5;

/** Lowercase hex SHA-256 of a Blob or ArrayBuffer (crypto.subtle). */
export async function sha256Hex(data) {
  const buffer = data instanceof ArrayBuffer ? data : await data.arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** What a record carries (AttachmentRef on the wire). */
export function refOf(entry, { kind = entry.kind || 'photo', isPublic = false } = {}) {
  return { sha256: entry.sha256, media_type: entry.media_type, size: entry.size, kind, public: isPublic };
}

// ---- the store -----------------------------------------------------------------------

/** Keep `blob` on the phone (a draft until queueFiles) and answer its reference. The same
 *  bytes a second time are the same entry: its state (queued, done) is kept. */
export async function addFile(blob, { media_type, kind = 'photo' } = {}) {
  const sha256 = await sha256Hex(blob);
  const db = await openStore();
  const tx = db.transaction('files', 'readwrite');
  const known = await tx.store.get(sha256);
  const entry = known || {
    sha256, size: blob.size, media_type: media_type || blob.type, kind, blob,
    state: 'draft', received: 0, error: null, added_at: Date.now(), queued_at: null, done_at: null,
  };
  if (!known) await tx.store.put(entry);
  await tx.done;
  notifyFiles();
  return refOf(entry, { kind });
}

/** The record referring to these files was saved: send them. */
export async function queueFiles(refs) {
  if (!refs?.length) return;
  const db = await openStore();
  const tx = db.transaction('files', 'readwrite');
  for (const ref of refs) {
    const entry = await tx.store.get(ref.sha256);
    if (entry && entry.state === 'draft') await tx.store.put({ ...entry, state: 'queued', queued_at: Date.now() });
  }
  await tx.done;
  notifyFiles();
}

export async function getFile(sha256) {
  return (await openStore()).get('files', sha256);
}

/** sha256 -> {state, received, size, media_type, error} of every file on the phone (no blobs). */
export async function fileStates() {
  const db = await openStore();
  const states = new Map();
  let cursor = await db.transaction('files').store.openCursor();
  while (cursor) {
    const { sha256, state, received, size, media_type, error, kind } = cursor.value;
    states.set(sha256, { state, received, size, media_type, error, kind });
    cursor = await cursor.continue();
  }
  return states;
}

/** How many files still wait to reach the server (the sync bar counts them). */
export async function pendingFileCount() {
  const states = await fileStates();
  return [...states.values()].filter((s) => s.state === 'queued').length;
}

/** Drop drafts no record took and files the server has held for a month. */
export async function pruneFiles(now = Date.now()) {
  const db = await openStore();
  const tx = db.transaction('files', 'readwrite');
  let cursor = await tx.store.openCursor();
  while (cursor) {
    const e = cursor.value;
    if ((e.state === 'draft' && now - e.added_at > DRAFT_FILE_TTL_MS)
        || (e.state !== 'draft' && e.state !== 'queued' && now - (e.done_at || e.added_at) > DONE_FILE_TTL_MS)) {
      await cursor.delete();
    }
    cursor = await cursor.continue();
  }
  await tx.done;
}

async function saveEntry(entry) {
  const db = await openStore();
  const tx = db.transaction('files', 'readwrite');
  // A sign-out or wipe may have cleared the store meanwhile: never bring a file back.
  if (await tx.store.get(entry.sha256)) await tx.store.put(entry);
  await tx.done;
}

// ---- progress --------------------------------------------------------------------------

const listeners = new Set();
let channel = null;

/** fn({sha256, state, received, size}) on every change of any file (this tab or another). */
export function subscribeFiles(fn) {
  listeners.add(fn);
  if (!channel && typeof BroadcastChannel !== 'undefined') {
    channel = new BroadcastChannel(FILES_CHANNEL);
    channel.addEventListener('message', (event) => listeners.forEach((f) => f(event.data || {})));
  }
  return () => listeners.delete(fn);
}

function notifyFiles(progress = {}) {
  listeners.forEach((fn) => fn(progress));
  if (typeof BroadcastChannel !== 'undefined') {
    const out = new BroadcastChannel(FILES_CHANNEL);
    out.postMessage(progress);
    out.close();
  }
}

// ---- the protocol --------------------------------------------------------------------

async function call(sendFn, method, path, token, { json, bytes, offset } = {}) {
  const headers = { [VERSION_HEADER]: APP_VERSION };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json) headers['Content-Type'] = 'application/json';
  if (bytes) { headers['Content-Type'] = 'application/octet-stream'; headers['Upload-Offset'] = String(offset); }
  let response;
  try {
    response = await sendFn(path, { method, cache: 'no-store', headers, body: json ? JSON.stringify(json) : bytes });
  } catch {
    throw new SyncError('transient', 0, { code: 'network', message: { zh: '连不上服务器', en: 'cannot reach the server' } });
  }
  const body = await response.json().catch(() => null);
  return { status: response.status, body, retryAfter: parseRetryAfter(response.headers?.get?.('Retry-After')) };
}

/** The error a refused answer means: `refused` (this file will never be taken: too large,
 *  wrong type, hash mismatch) or a SyncError to retry later / stop on. */
function judge(answer) {
  const { status, body, retryAfter } = answer;
  if ([413, 415, 422].includes(status)) return { refused: body || { code: `http_${status}`, message: { zh: '服务器拒收此文件', en: 'the server refused this file' } } };
  if (status === 429 || status >= 500 || status === 0) return { error: new SyncError('transient', status, body, retryAfter) };
  if (status === 403 && body?.code === 'device_wiped') return { error: new SyncError('wiped', status, body) };
  if (status === 401 || status === 403) return { error: new SyncError('auth', status, body) };
  if (status === 426) return { error: new SyncError('too_old', status, body) };
  return { error: new SyncError('fatal', status, body) };
}

/** Send one file from where the server stands. `save(entry)` keeps each step (so a reload
 *  resumes from there), `progress(entry)` hears each chunk. Returns the final entry
 *  (state `done` or `refused`); throws SyncError when it must be tried again later. */
export async function uploadFile(entry, { token, save = saveEntry, progress = () => {}, sendFn = send } = {}) {
  let current = { ...entry };
  const step = async (patch) => {
    current = { ...current, ...patch };
    await save(current);
    progress(current);
    return current;
  };
  const start = await call(sendFn, 'POST', FILES_PATH, token, { json: { sha256: entry.sha256, size: entry.size, media_type: entry.media_type } });
  if (start.status !== 200) {
    const { refused, error } = judge(start);
    if (refused) return step({ state: 'refused', error: refused, done_at: Date.now() });
    throw error;
  }
  if (start.body.complete) return step({ state: 'done', received: entry.size, error: null, done_at: Date.now() });
  const chunk = start.body.chunk_size || DEFAULT_CHUNK;
  let offset = start.body.received || 0;
  await step({ received: offset });
  let mismatches = 0;
  for (;;) {
    const bytes = entry.blob.slice(offset, Math.min(entry.size, offset + chunk));
    const answer = await call(sendFn, 'PATCH', `${FILES_PATH}/${entry.sha256}`, token, { bytes, offset });
    if (answer.status === 200) {
      mismatches = 0;
      offset = answer.body.received;
      if (answer.body.complete) return step({ state: 'done', received: entry.size, error: null, done_at: Date.now() });
      await step({ received: offset });
      if (offset >= entry.size) throw new SyncError('transient', 200, { code: 'not_complete', message: { zh: '文件未完成', en: 'the file is not complete' } });
      continue;
    }
    if (answer.status === 409 && answer.body?.code === 'offset_mismatch' && Number.isInteger(answer.body.received)) {
      // The server holds another length (a chunk sent twice, or one lost): go on from there.
      if (++mismatches > MAX_MISMATCHES) throw new SyncError('transient', 409, answer.body);
      offset = answer.body.received;
      await step({ received: offset });
      continue;
    }
    if (answer.status === 404) {
      // The partial upload is gone on the server (expired): start again at the next try.
      await step({ received: 0 });
      throw new SyncError('transient', 404, answer.body);
    }
    const { refused, error } = judge(answer);
    if (refused) return step({ state: 'refused', error: refused, done_at: Date.now() });
    throw error;
  }
}

/** Upload every queued file, oldest first, in this tab (one tab at a time: a Web Lock).
 *  Returns {sent, refused} or {busy: true} when another tab is at it. */
export async function uploadQueued(token, { sendFn = send } = {}) {
  const run = async (lock) => {
    if (lock === null) return { busy: true };
    const db = await openStore();
    const queued = (await db.getAll('files')).filter((e) => e.state === 'queued').sort((a, b) => (a.queued_at || 0) - (b.queued_at || 0));
    let sent = 0;
    let refused = 0;
    for (const entry of queued) {
      const progressOf = (e) => notifyFiles({ sha256: e.sha256, state: e.state, received: e.received, size: e.size });
      const final = await uploadFile(entry, { token, sendFn, progress: progressOf });
      if (final.state === 'done') sent++;
      else if (final.state === 'refused') refused++;
    }
    return { sent, refused };
  };
  if (!globalThis.navigator?.locks) return run(true);
  return navigator.locks.request(FILES_LOCK, { ifAvailable: true }, run);
}

/** When to upload, in the page: at start, after a file was queued, when back online, after
 *  each sync; failures back off with full jitter, never sooner than Retry-After. */
export class FileQueue {
  constructor(getToken) {
    this.getToken = getToken;
    this.attempt = 0;
    this.timer = null;
    this.running = false;
    this.again = false;
    this.error = null; // the last failure (for the sync bar)
  }

  start() {
    addEventListener('online', () => { this.attempt = 0; this.kick(); });
    pruneFiles().catch(() => {});
    this.kick();
    // a fallback, as the sync runner's: a stop for a lost token or another tab's queue
    setInterval(() => { if (this.attempt === 0) this.kick(); }, 60000);
  }

  kick(delay = 0) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), delay);
  }

  async run() {
    if (this.running) { this.again = true; return; }
    this.running = true;
    try {
      const token = await this.getToken();
      if (!token || (globalThis.navigator && navigator.onLine === false)) return;
      const result = await uploadQueued(token);
      this.attempt = 0;
      this.error = null;
      if (result.busy) this.kick(5000); // another tab holds the queue; look again later
    } catch (err) {
      this.error = err;
      notifyFiles({ error: err.body?.code || err.kind });
      if (err.kind === 'transient') this.kick(retryDelay(this.attempt++, err.retryAfter));
    } finally {
      this.running = false;
      if (this.again) { this.again = false; this.kick(); }
    }
  }
}

// ---- downloads -----------------------------------------------------------------------

const urls = new Map(); // `${sha256}:${size}` -> {state, url}

/** A file (or its thumbnail) to show: the phone's own copy if it has one, else the server's
 *  with the device token. {state: 'ok', url} (a blob URL), 'pending' (referenced, not
 *  uploaded yet), 'no_thumbnail' (a PDF), 'missing' (not there or not ours to see),
 *  'offline' (ask again later). */
export async function fileUrl(sha256, { thumb = true, token, sendFn = send } = {}) {
  const key = `${sha256}:${thumb ? 'thumb' : 'full'}`;
  if (urls.has(key)) return urls.get(key);
  const local = await getFile(sha256);
  if (local?.blob) {
    const found = { state: 'ok', url: URL.createObjectURL(local.blob), local: true, media_type: local.media_type };
    urls.set(key, found);
    return found;
  }
  if (!token) return { state: 'offline' };
  let response;
  try {
    response = await sendFn(`${FILES_PATH}/${sha256}${thumb ? '?size=thumb' : ''}`, {
      headers: { Authorization: `Bearer ${token}`, [VERSION_HEADER]: APP_VERSION },
    });
  } catch {
    return { state: 'offline' };
  }
  if (response.status === 200) {
    const blob = await response.blob();
    const found = { state: 'ok', url: URL.createObjectURL(blob), media_type: blob.type };
    urls.set(key, found);
    return found;
  }
  const body = await response.json().catch(() => null);
  if (response.status === 404 && body?.code === 'file_pending') return { state: 'pending' };
  if (response.status === 404 && body?.code === 'no_thumbnail') {
    const found = { state: 'no_thumbnail' };
    urls.set(key, found);
    return found;
  }
  if (response.status === 404) return { state: 'missing' };
  return { state: 'offline' };
}

/** Forget cached answers for a file (after its upload finished, look again). */
export function forgetFileUrl(sha256) {
  for (const key of [...urls.keys()]) {
    if (key.startsWith(`${sha256}:`) && urls.get(key).state !== 'ok') urls.delete(key);
  }
}
