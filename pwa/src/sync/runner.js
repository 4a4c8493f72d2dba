// When to sync, in the page: one tab is the leader (a Web Lock held for the tab's life) and
// runs the loop: sync on open, on enqueue, on coming online, on each SSE poke; failures
// back off exponentially with full jitter, never sooner than the server's Retry-After.
// Other tabs hand their "sync now" to the leader over a BroadcastChannel.
import { CHANNEL, announce, describeError, syncOnce, whoAmI } from './engine.js';
import { forgetAll, getMeta, setMeta } from './store.js';
import { send } from './transport.js';
import { APP_VERSION, VERSION_HEADER } from './version.js';

const LEADER_LOCK = 'charity-sync-leader';
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 60000;
const FALLBACK_POLL_MS = 60000;
const OUTBOX_SYNC_TAG = 'charity-outbox';

/** Full jitter (AWS): uniform in [0, min(cap, base * 2^attempt)], so phones coming back at
 *  once spread out instead of hammering the server in step. */
export function backoffDelay(attempt, random = Math.random) {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
}

/** The wait before the next attempt: the backoff, but never sooner than Retry-After. */
export function retryDelay(attempt, retryAfterSeconds = null, random = Math.random) {
  return Math.max(backoffDelay(attempt, random), (retryAfterSeconds ?? 0) * 1000);
}

export class SyncRunner {
  constructor(onChange) {
    this.onChange = onChange; // called whenever stored data or the sync state changed
    this.leader = false;
    this.running = false;
    this.again = false;
    this.attempt = 0;
    this.timer = null;
    this.forced = false; // the next run skips a stored backoff
    this.sse = null;
    this.sseAttempt = 0;
    this.state = { phase: 'idle', error: null, live: false };
    // A long pull's {done, total} (engine.js pullAll), null between runs. Not in meta
    // sync_state: that would re-read the whole replica on every page (src/state.js).
    this.progress = null;
    this.progressListeners = new Set();
    // Set by the account area (src/areas/account/lifecycle.js): called after a sync or a
    // /me that carried the console's sign-out request, and after this device was wiped.
    this.onSignOutRequested = null;
    this.onWiped = null;
    this.channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(CHANNEL) : null;
  }

  start() {
    this.channel?.addEventListener('message', (event) => {
      const { type } = event.data || {};
      if (type === 'kick' && this.leader) this.schedule(0, { force: !!event.data.force });
      if (type === 'progress') this.showProgress(event.data.progress);
      if (type === 'changed' || type === 'state' || type === 'held') this.onChange();
      if (type === 'held' && this.leader && event.data.retryAt) this.schedule(Math.max(0, event.data.retryAt - Date.now()));
    });
    addEventListener('online', () => { this.attempt = 0; this.schedule(0, { force: true }); this.connectEvents(); });
    addEventListener('offline', () => { this.dropEvents(); this.setState({ phase: 'offline', live: false }); });
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') this.kick(); });
    if (navigator.locks) {
      // Held until the tab closes; the next tab in line then takes over.
      navigator.locks.request(LEADER_LOCK, () => new Promise(() => this.becomeLeader()));
    } else {
      this.becomeLeader();
    }
    setInterval(() => this.kick(), FALLBACK_POLL_MS);
  }

  becomeLeader() {
    this.leader = true;
    this.schedule();
    this.connectEvents();
    this.refreshGrant();
  }

  /** Who the token is may change on the server (role, station): re-read it on open. */
  async refreshGrant() {
    const token = await getMeta('token');
    if (!token || !navigator.onLine) return;
    try {
      const me = await whoAmI(token);
      if ((await getMeta('token')) !== token) return; // signed out or re-enrolled meanwhile
      await setMeta('me', me);
      if (me.sign_out) await setMeta('sign_out_requested', true);
      this.onChange();
      if (me.sign_out) this.onSignOutRequested?.();
    } catch (err) {
      if (err.kind === 'wiped') { await forgetAll(describeError(err)); this.wiped(); return; }
      if (err.kind === 'auth') this.setState({ phase: 'stopped', error: describeError(err) });
    }
  }

  /** Sync soon: this tab if it leads, else ask the leader. */
  kick({ force = false } = {}) {
    if (this.leader) this.schedule(0, { force });
    else this.channel?.postMessage({ type: 'kick', force });
  }

  /** After a local write: sync now, and register Background Sync so the browser replays
   *  the outbox even if the app is closed before it gets through (where supported). */
  async afterEnqueue() {
    this.onChange();
    announce();
    this.kick();
    try {
      const registration = await navigator.serviceWorker?.ready;
      await registration?.sync?.register(OUTBOX_SYNC_TAG);
    } catch { /* Background Sync is a bonus, never relied upon */ }
  }

  setState(patch) {
    this.state = { ...this.state, ...patch };
    return setMeta('sync_state', this.state).then(() => { this.onChange(); announce('state'); });
  }

  /** A pull's progress, to this tab's listeners (the sync bar) and the other tabs. */
  setProgress(progress) {
    this.showProgress(progress);
    this.channel?.postMessage({ type: 'progress', progress });
  }

  showProgress(progress) {
    this.progress = progress;
    this.progressListeners.forEach((fn) => fn(progress));
  }

  /** Run after `delayMs`; run() itself waits out a stored backoff (new writes and pokes
   *  wait for it too); `force` (the user's "sync now", coming online) skips it. */
  schedule(delayMs = 0, { force = false } = {}) {
    if (force) this.forced = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), delayMs);
  }

  async run() {
    if (this.running) { this.again = true; return; }
    const token = await getMeta('token');
    if (!token) return;
    if (!navigator.onLine) { this.setState({ phase: 'offline' }); return; }
    const force = this.forced;
    this.forced = false;
    this.running = true;
    this.setState({ phase: 'syncing', error: null });
    try {
      const result = await syncOnce(token, {
        force, onError: (err) => this.waitAfter(err), onProgress: (p) => this.setProgress(p),
      });
      if (result?.heldUntil) {
        // Someone (another tab, the service worker) was told to wait: wait too.
        this.setState({ phase: 'waiting' });
        this.schedule(result.heldUntil - Date.now());
      } else {
        this.attempt = 0;
        this.setState({ phase: 'idle' });
        announce();
        if (await getMeta('sign_out_requested')) this.onSignOutRequested?.();
        else if (!this.sse) this.connectEvents();
      }
    } catch (err) {
      if (err.kind === 'wiped') {
        this.wiped(); // syncOnce erased the phone already
      } else if (err.kind === 'auth' || err.kind === 'too_old') {
        // Retrying cannot help: the user must enrol again or update the app.
        this.dropEvents();
        this.setState({ phase: 'stopped', error: describeError(err) });
      } else {
        this.setState({ phase: 'waiting' });
        this.schedule(this.lastWait);
      }
    } finally {
      this.running = false;
      if (this.progress) this.setProgress(null);
      this.onChange();
      if (this.again) { this.again = false; this.schedule(); }
    }
  }

  /** The device was reported lost and its data erased: stop everything. */
  wiped() {
    this.dropEvents();
    this.state = { phase: 'idle', error: null, live: false };
    // A long pull's {done, total} (engine.js pullAll), null between runs. Not in meta
    // sync_state: that would re-read the whole replica on every page (src/state.js).
    this.progress = null;
    this.progressListeners = new Set();
    this.onChange();
    announce();
    this.onWiped?.();
  }

  /** How long to wait after a failure (null: do not retry). Called by syncOnce under the
   *  run lock, which stores it for every tab and the service worker. */
  waitAfter(err) {
    if (err.kind === 'auth' || err.kind === 'too_old' || err.kind === 'wiped') return null;
    this.lastWait = retryDelay(this.attempt++, err.retryAfter);
    return this.lastWait;
  }

  /** Hold GET /sync/events (fetch, so the token goes in a header) and sync on each poke,
   *  and once on each (re)connect, since pokes sent while disconnected are lost. */
  async connectEvents() {
    if (!this.leader || this.sse || !navigator.onLine) return;
    const token = await getMeta('token');
    if (!token) return;
    const controller = new AbortController();
    this.sse = controller;
    try {
      const response = await send('/api/v1/sync/events', {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', [VERSION_HEADER]: APP_VERSION },
        cache: 'no-store', signal: controller.signal,
      });
      if (response.status === 401 || response.status === 403) {
        // Revoked, wiped or expired: a sync finds out which and acts; no reconnect loop
        // (a sync that succeeds after all connects again).
        if (this.sse === controller) this.sse = null;
        this.setState({ live: false });
        this.schedule(0);
        return;
      }
      if (response.status !== 200) throw new Error(`events ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = (buffer + value).replace(/\r\n/g, '\n'); // the server ends lines with CRLF
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const name = block.split('\n').find((line) => line.startsWith('event:'))?.slice(6).trim();
          if (name === 'ready') { this.sseAttempt = 0; this.setState({ live: true }); this.schedule(); }
          if (name === 'poke') this.schedule(50);
        }
      }
    } catch { /* reconnect below */ }
    if (this.sse !== controller) return; // dropped on purpose
    this.sse = null;
    this.setState({ live: false });
    const wait = backoffDelay(this.sseAttempt++);
    setTimeout(() => this.connectEvents(), Math.max(wait, 500));
  }

  dropEvents() {
    const controller = this.sse;
    this.sse = null;
    controller?.abort();
  }
}
