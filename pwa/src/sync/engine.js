// The sync contract (docs/protocol.md) over IndexedDB: enqueue, push in id order, pull in
// pages. No timers and no UI here, so the page and the service worker run the same code;
// src/sync/runner.js decides when to call it.
import { laterStamp, nextStamp } from './hlc.js';
import { uuid7 } from './ids.js';
import { unwrap } from 'idb';
import { forgetAll, openStore, rekey } from './store.js';
import { send } from './transport.js';
import { APP_VERSION, VERSION_HEADER } from './version.js';

export const PROTOCOL = 1;
export const PUSH_BATCH = 200;
export const PULL_LIMIT = 500;
/** The largest page a long pull asks for (the server allows up to 10000): bigger pages
 *  spend less on round trips, smaller ones keep each page's work on the main thread short
 *  and the progress bar moving. */
export const BULK_LIMIT = 5000;
/** About how many pages a long pull is cut into (so the progress bar moves in steps). */
export const PULL_STEPS = 20;
/** One push or pull at a time across every tab and the service worker. */
export const RUN_LOCK = 'charity-sync-run';
export const CHANNEL = 'charity-sync';

/** A refused or failed request. `kind` says what the caller should do:
 *  transient: retry with backoff (network, 5xx, 429/503 with retryAfter seconds);
 *  auth: the token is unknown, revoked or expired (401 device_expired), stop and ask for
 *        a new code, keeping the outbox;
 *  wiped: the device was reported lost (403 device_wiped): everything on it is erased;
 *  too_old: this build is older than the server serves, update the app;
 *  fatal: a bug or a contract break, the same request would fail the same way. */
export class SyncError extends Error {
  constructor(kind, status, body, retryAfter = null) {
    super(body?.message?.en || `${kind} (${status})`);
    this.kind = kind;
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

/** Retry-After: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, (when - now) / 1000);
}

export async function request(method, path, token, body) {
  let response;
  try {
    response = await send(path, {
      method,
      cache: 'no-store',
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}), [VERSION_HEADER]: APP_VERSION,
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new SyncError('transient', 0, { code: 'network', message: { zh: '连不上服务器', en: 'cannot reach the server' } });
  }
  if (response.status === 200) return response.json();
  const error = await response.json().catch(() => null);
  const status = response.status;
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
  if (status === 429 || status >= 500) throw new SyncError('transient', status, error, retryAfter);
  if (status === 403 && error?.code === 'device_wiped') throw new SyncError('wiped', status, error);
  if (status === 401 || (status === 403 && ['device_revoked', 'no_membership'].includes(error?.code))) throw new SyncError('auth', status, error);
  if (status === 426) throw new SyncError('too_old', status, error);
  throw new SyncError('fatal', status, error);
}

/** Who the stored token belongs to (GET /api/v1/me). */
export function whoAmI(token) {
  return request('GET', '/api/v1/me', token);
}

/** Queue a mutation (`key`: the caller's, when one intent may be queued twice); its id, key and HLC are fixed now, when the user acted, and committed
 *  together, so a crash or reload re-sends the very same act. */
export async function enqueue(name, args, version = 1, key = uuid7()) {
  const db = await openStore();
  const tx = db.transaction(['meta', 'outbox'], 'readwrite');
  const meta = tx.objectStore('meta');
  const [clientId, nextId, last] = await Promise.all([meta.get('client_id'), meta.get('next_id'), meta.get('hlc')]);
  const hlc = nextStamp(last, clientId);
  const row = {
    id: nextId, name, version, key, hlc, args,
    created_at: new Date().toISOString(),
  };
  await Promise.all([tx.objectStore('outbox').add(row), meta.put(nextId + 1, 'next_id'), meta.put(hlc, 'hlc')]);
  await tx.done;
  return row;
}

/** Push batches until the outbox is empty. Rows leave the outbox only once the server
 *  answered for them (or a pull says they are in the data). */
export async function pushAll(token) {
  const db = await openStore();
  let batch = PUSH_BATCH;
  for (;;) {
    const [clientId, rows, pending, names] = await Promise.all([
      db.get('meta', 'client_id'), db.getAll('outbox', null, batch), db.count('outbox'), outboxNames(db),
    ]);
    if (!rows.length) return;
    let answer;
    try {
      answer = await request('POST', '/api/v1/sync/push', token, {
        protocol: PROTOCOL, client_id: clientId, pending, pending_summary: pendingSummary(names),
        mutations: rows.map(({ id, name, version, key, hlc, args }) => ({ id, name, version, key, hlc, args })),
      });
    } catch (err) {
      if (err.status === 413 && batch > 1) { batch = Math.ceil(batch / 2); continue; }
      // A gap (the server cannot place our ids) or a client id owned by another token: a
      // fresh client id and counter; the keys make anything already applied a duplicate.
      if (err.body?.code === 'mutation_gap' || err.body?.code === 'client_not_yours') {
        await rekey(db, err.body.code);
        continue;
      }
      throw err;
    }
    const acknowledged = await applyPushAnswer(db, clientId, rows, answer);
    if (!acknowledged) throw new SyncError('fatal', 200, { code: 'nothing_acknowledged', message: { zh: '服务器未确认任何变更', en: 'the push answer acknowledged nothing' } });
  }
}

/** The name of every queued mutation (a cursor over the outbox, not the args). */
async function outboxNames(db) {
  const names = [];
  let cursor = await db.transaction('outbox').store.openCursor();
  while (cursor) { names.push(cursor.value.name); cursor = await cursor.continue(); }
  return names;
}

/** {mutation name: count} of what this phone still holds: the console shows it before a
 *  device is revoked, so nobody wipes a phone with undelivered gifts unawares. */
export function pendingSummary(names) {
  const summary = {};
  for (const name of names) summary[name] = (summary[name] || 0) + 1;
  return summary;
}

async function applyPushAnswer(db, clientId, rows, answer) {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const tx = db.transaction(['outbox', 'outcomes'], 'readwrite');
  const outbox = tx.objectStore('outbox');
  const outcomes = tx.objectStore('outcomes');
  let acknowledged = 0;
  for (const result of answer.results) {
    const row = byId.get(result.id);
    if (!row) continue;
    acknowledged++;
    // Rejected and flagged answers are kept for the user; a later "duplicate" that repeats a
    // stored rejection (after a lost response) is kept too, never silently dropped.
    if (result.code && !(await outcomes.get(row.key))) {
      await outcomes.put({
        key: row.key, id: row.id, client_id: clientId, status: result.status, code: result.code,
        message: result.message || null, issue_id: result.issue_id || null,
        name: row.name, args: row.args, at: new Date().toISOString(), dismissed: false,
      });
    }
    await outbox.delete(row.id);
  }
  const covered = await outbox.getAllKeys(IDBKeyRange.upperBound(answer.last_mutation_id));
  for (const id of covered) { await outbox.delete(id); acknowledged++; }
  await tx.done;
  return acknowledged;
}

/** How far the server's clock is ahead of this phone's (ms; negative: the phone is ahead),
 *  from one pull: the server stamped its answer between `sent` and `got`, taken as midway.
 *  Kept in meta `clock_skew` as `{ms, rtt, at}`; screens warn when it is large. */
export function clockSkew(serverTime, sent, got) {
  const server = Date.parse(serverTime || '');
  if (Number.isNaN(server)) return null;
  return { ms: Math.round(server - (sent + got) / 2), rtt: got - sent, at: new Date(got).toISOString() };
}

/** The page size for a pull run of `total` changes (null: unknown): the default for small
 *  catch-ups, about a PULL_STEPS-th of the whole for a long pull (a first sync), within
 *  bounds. */
export function pageLimit(total) {
  if (!total) return PULL_LIMIT;
  return Math.min(BULK_LIMIT, Math.max(PULL_LIMIT, Math.ceil(total / PULL_STEPS)));
}

/** Where a pull run stands after a page: `{done, total}` records (total null when the
 *  server does not say). `before` is `{done, total}` when the run began (a run cut short
 *  by a reload left it in meta `pull_progress`); `remaining` is the server's count, sent
 *  on the page that asked for it. */
export function nextProgress(before, applied, page) {
  const done = before.done + applied;
  if (!page.more) return { done, total: done };
  if (page.remaining != null) return { done, total: done + page.remaining };
  // more came in than counted (new changes, a record moved on): never past 100 %
  const total = before.total == null ? null : Math.max(before.total, done + 1);
  return { done, total };
}

/** Pull pages until `more` is false; each page, its cursor and the outbox rows it covers
 *  commit in one transaction, so a page is applied whole or not at all. The first page of
 *  a run asks how much is left (`want_remaining`); `onProgress({done, total})` hears after
 *  each page, and meta `pull_progress` keeps it so a reload mid-sync resumes the count. */
export async function pullAll(token, onProgress = null) {
  const db = await openStore();
  let changed = 0;
  let ask = true;
  let limit = PULL_LIMIT;
  let progress = null;
  for (;;) {
    const [clientId, cursor, stored] = await Promise.all([
      db.get('meta', 'client_id'), db.get('meta', 'cursor'), db.get('meta', 'pull_progress'),
    ]);
    let page;
    const sent = Date.now();
    try {
      page = await request('POST', '/api/v1/sync/pull', token, {
        protocol: PROTOCOL, client_id: clientId, cursor: cursor ?? null, limit,
        ...(ask ? { want_remaining: true } : {}),
      });
      page.clock = clockSkew(page.server_time, sent, Date.now());
    } catch (err) {
      if (err.body?.code === 'bad_cursor') { await db.put('meta', null, 'cursor'); continue; }
      if (err.body?.code === 'client_not_yours') { await rekey(db, err.body.code); continue; }
      throw err;
    }
    if (ask) {
      // what an earlier run of this sync (cut short by a reload) already brought in, unless
      // the server starts over
      const carried = cursor != null && !page.reset && stored?.done ? stored.done : 0;
      progress = { done: carried, total: null };
      ask = false;
    } else if (page.reset) {
      progress = { done: 0, total: null };
    }
    progress = nextProgress(progress, page.changes.length, page);
    changed += await applyPage(db, page, cursor == null, page.more ? progress : null);
    onProgress?.(progress);
    if (!page.more) return changed;
    // sized on the whole pull, so its pages stay one size (not shrinking with what is left)
    limit = pageLimit(progress.total);
  }
}

/** Records a page hands to IndexedDB in one go (about 15 ms of the main thread's time on
 *  a mid-range phone: each put copies its record there and then). */
export const APPLY_SLICE = 400;

/** A raw request's answer: resolves in its success event, while its transaction is active. */
function settled(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** One page in one transaction. The requests are issued without waiting for each (on the
 *  raw IndexedDB store: no promise per record), APPLY_SLICE at a time, and only the last
 *  of each slice and `tx.done` are awaited: a failed request aborts the transaction, so the
 *  page is still applied whole or not at all. */
async function applyPage(db, page, first, progress) {
  const tx = db.transaction(['replica', 'meta', 'outbox'], 'readwrite');
  const meta = tx.objectStore('meta');
  const outbox = tx.objectStore('outbox');
  const [last, rev, covered] = await Promise.all([
    meta.get('hlc'), meta.get('replica_rev'), outbox.getAllKeys(IDBKeyRange.upperBound(page.last_mutation_id)),
  ]);
  try {
    const replica = unwrap(tx.objectStore('replica'));
    // Server data only: the outbox is the user's unsent work and is pushed again.
    if (page.reset || first) replica.clear();
    let high = last;
    const changes = page.changes;
    let request = null;
    for (let at = 0; at < changes.length; at += APPLY_SLICE) {
      // The rest of a big page goes on from the previous slice's last answer: a short task
      // each, not one long freeze of the page (in the same transaction, which stays open).
      if (request) await settled(request);
      for (let i = at; i < Math.min(at + APPLY_SLICE, changes.length); i++) {
        const change = changes[i];
        if (change.op === 'put') {
          request = replica.put({ type: change.type, id: change.id, data: change.data || {} });
          const stamps = change.data?.field_hlc;
          if (stamps) for (const key in stamps) high = laterStamp(high, stamps[key]);
        } else {
          request = replica.delete([change.type, change.id]);
        }
      }
    }
    const raw = unwrap(meta);
    // Our next stamp must come after every stamp we have seen, so our edits of what we saw
    // are later than it.
    raw.put(high, 'hlc');
    // Screens re-read the replica only when this changes (src/state.js).
    if (page.changes.length || page.reset || first) raw.put((rev || 0) + 1, 'replica_rev');
    raw.put(page.cursor, 'cursor');
    raw.put(progress, 'pull_progress');
    if (page.clock) raw.put(page.clock, 'clock_skew');
    // The console asked this phone to sign out: the page delivers what it holds, then signs out.
    if (page.sign_out) raw.put(true, 'sign_out_requested');
    raw.put(page.last_mutation_id, 'last_mutation_id');
    const rawOutbox = unwrap(outbox);
    for (const id of covered) rawOutbox.delete(id);
  } catch (err) {
    // a request already issued must not commit without the rest
    tx.done.catch(() => {}); // rejects with the abort; the caller hears `err`
    try { tx.abort(); } catch { /* a failed request aborted it already */ }
    throw err;
  }
  await tx.done;
  return page.changes.length;
}

/** What the sync bar shows of a failure. */
export function describeError(err) {
  return {
    kind: err.kind || 'fatal', status: err.status ?? null, code: err.body?.code ?? null,
    message: err.body?.message ?? { zh: String(err), en: String(err) },
  };
}

/** Push then pull, under the run lock (one at a time across tabs and the service worker).
 *  A failure records, still under the lock, `retry_at` (now + what `onError(err)` returns,
 *  in ms; null: no retry) and `last_error`; until then every caller is turned away with
 *  `{heldUntil}` unless `force`. `ifAvailable`: give up at once when someone else is
 *  syncing (the service worker's replay). */
export async function syncOnce(token, { ifAvailable = false, onError = null, force = false, onProgress = null } = {}) {
  const run = async (lock) => {
    if (lock === null) return null;
    const db = await openStore();
    const until = await db.get('meta', 'retry_at');
    if (!force && until && until > Date.now()) return { heldUntil: until };
    let pulled;
    try {
      await pushAll(token);
      pulled = await pullAll(token, onProgress);
    } catch (err) {
      if (err.kind === 'wiped') { await forgetAll(describeError(err)); throw err; }
      const wait = onError ? await onError(err) : null;
      await db.put('meta', wait == null ? null : Date.now() + wait, 'retry_at');
      await db.put('meta', describeError(err), 'last_error');
      throw err;
    }
    await db.put('meta', null, 'retry_at');
    await db.put('meta', null, 'last_error');
    await db.put('meta', new Date().toISOString(), 'last_sync_at');
    return { pulled };
  };
  if (!globalThis.navigator?.locks) return run(true);
  return navigator.locks.request(RUN_LOCK, { ifAvailable }, run);
}

/** Tell every tab (and the service worker) that stored data changed. */
export function announce(type = 'changed', extra = {}) {
  if (typeof BroadcastChannel === 'undefined') return;
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage({ type, ...extra });
  channel.close();
}
