// One in-memory snapshot of what the screens show, re-read from IndexedDB whenever this
// tab, another tab, or the service worker changed something.
import { useEffect, useState } from 'preact/hooks';
import { enqueue } from './sync/engine.js';
import { baseView, buildView, overlayView } from './sync/local.js';
import { SyncRunner } from './sync/runner.js';
import { allMeta, openStore } from './sync/store.js';

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
      // The replica (a season of donations) is read again only after a pull changed it.
      if (!base || base.rev !== (meta.replica_rev ?? 0)) {
        base = { rev: meta.replica_rev ?? 0, view: baseView(await db.getAll('replica')) };
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

/** The one way screens write: queue the mutation, show it, sync. */
export async function act(name, args, version = 1) {
  const row = await enqueue(name, args, version);
  await refresh();
  runner.afterEnqueue();
  return row;
}

/** Called with each new snapshot (for work that follows the data, e.g. claiming a receipt series). */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
