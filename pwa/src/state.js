// One in-memory snapshot of what the screens show, re-read from IndexedDB whenever this
// tab, another tab, or the service worker changed something.
import { useEffect, useState } from 'preact/hooks';
import { enqueue } from './sync/engine.js';
import { baseView, buildView, overlayView } from './sync/local.js';
import { SyncRunner } from './sync/runner.js';
import { allMeta, getMeta, openStore, readReplica } from './sync/store.js';
import { FileQueue, queueFiles } from './sync/files.js';
import { ArgsInvalid, checkArgs } from './ui/forms.js';
import { setApprovalThreshold } from './areas/donations/model.js';
import { configValue } from './config.js';

let snapshot = { loaded: false, meta: {}, view: buildView([], [], null), outbox: [], outcomes: [], online: navigator.onLine };
const listeners = new Set();
let reading = null;
let dirty = false;
let base = null; // {rev, view}: the replica as last read

export async function refresh() {
  if (reading) { dirty = true; return reading; }
  reading = (async () => {
    do {
      dirty = false;
      const db = await openStore();
      const [meta, outbox, outcomes] = await Promise.all([allMeta(), db.getAll('outbox'), db.getAll('outcomes')]);
      setApprovalThreshold(configValue(meta, 'correction_approval_threshold_fen'));
      // The replica (a season of donations) is read again only after a pull changed it, in
      // chunks (a pull landing meanwhile changes replica_rev, and its end refreshes again).
      if (!base || base.rev !== (meta.replica_rev ?? 0)) {
        base = { rev: meta.replica_rev ?? 0, view: baseView(await readReplica(db)) };
      }
      snapshot = {
        loaded: true, meta, outbox, online: navigator.onLine,
        outcomes: outcomes.sort((a, b) => (a.at < b.at ? 1 : -1)),
        view: overlayView(base.view, outbox, meta.me),
      };
      listeners.forEach((fn) => fn(snapshot));
    } while (dirty);
  })();
  try { await reading; } finally { reading = null; }
}

export const runner = new SyncRunner(() => refresh());
/** Photos and PDFs go up beside the outbox (src/sync/files.js). */
export const fileQueue = new FileQueue(() => getMeta('token'));

addEventListener('online', () => refresh());
addEventListener('offline', () => refresh());

export function useApp() {
  const [value, set] = useState(snapshot);
  useEffect(() => {
    listeners.add(set);
    set(snapshot);
    return () => listeners.delete(set);
  }, []);
  return value;
}

const queuing = new Map(); // key -> the enqueue in flight in this tab

/** The one way screens write: check the args against the server's schema (ArgsInvalid,
 *  nothing queued), queue the mutation, show it, sync. `key` (fixed per form intent by
 *  forms.js useSubmit) makes a second call for the same intent return the first row. */
export async function act(name, args, version = 1, { key } = {}) {
  const fields = await checkArgs(name, args, version);
  if (fields) throw new ArgsInvalid(name, fields);
  // The files this mutation refers to leave their draft state and go up beside it.
  if (args?.attachments?.length) { await queueFiles(args.attachments); fileQueue.kick(); }
  if (key && queuing.has(key)) return queuing.get(key);
  const pending = (async () => {
    if (key) {
      const queued = (await (await openStore()).getAll('outbox')).find((row) => row.key === key);
      if (queued) return queued;
    }
    return enqueue(name, args, version, key);
  })();
  if (key) queuing.set(key, pending);
  try {
    const row = await pending;
    await refresh();
    runner.afterEnqueue();
    return row;
  } finally {
    if (key) queuing.delete(key);
  }
}

/** Called with each new snapshot (for work that follows the data, e.g. claiming a receipt series). */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
