// A phone's life after enrolment: signing out (the Me screen's button, or the console's
// request seen in a pull or /me), being wiped (403 device_wiped, handled in the sync engine),
// and what the app does next. Signing out delivers the outbox first: nobody loses a gift
// recorded offline because they tapped "sign out".
import { RUN_LOCK, describeError, pushAll } from '../../sync/engine.js';
import { forgetAll, openStore } from '../../sync/store.js';
import { refresh, runner } from '../../state.js';
import { go } from '../../router.js';
import { signOutOnServer } from './api.js';

let running = null;

async function deliver(token) {
  const push = () => pushAll(token);
  if (navigator.locks) await navigator.locks.request(RUN_LOCK, push);
  else await push();
}

/** Deliver what the phone holds, sign out on the server, forget everything.
 *  Returns {done: true}, or {left, error} when something could not be delivered (nothing is
 *  forgotten then unless `force`: the user was warned and chose to lose it). */
export function signOut({ force = false, notice = 'signed_out' } = {}) {
  if (!running) running = run(force, notice).finally(() => { running = null; });
  return running;
}

async function run(force, notice) {
  const db = await openStore();
  const token = await db.get('meta', 'token');
  let error = null;
  if (token) {
    try {
      await deliver(token);
    } catch (err) {
      if (err.kind === 'wiped') { await wiped(); return { done: true, wiped: true }; }
      error = describeError(err);
    }
  }
  const left = await db.count('outbox');
  if (left && !force) return { left, error };
  if (token) {
    try {
      await signOutOnServer(token);
    } catch (err) {
      // Offline or already revoked: the console can still revoke the token; a forced sign-out
      // forgets the phone anyway, a requested one tries again at the next sync.
      if (!force && err.kind === 'transient') return { left: 0, error: describeError(err) };
    }
  }
  await forget({ code: notice, message: null, left: force ? left : 0 });
  return { done: true, left };
}

async function forget(notice) {
  runner.dropEvents();
  await forgetAll(notice);
  await dropPushSubscription();
  await refresh();
  go('/enrol', { replace: true });
}

async function dropPushSubscription() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    const subscription = await registration?.pushManager?.getSubscription();
    await subscription?.unsubscribe();
  } catch { /* the server dropped it with the token anyway */ }
}

/** After the engine erased a wiped phone: show the enrol screen with the reason. */
export async function wiped() {
  runner.dropEvents();
  await dropPushSubscription();
  await refresh();
  go('/enrol', { replace: true });
}

/** Follow the console's sign-out request and the engine's wipe. */
export function startLifecycle() {
  runner.onSignOutRequested = () => { signOut({ force: false, notice: 'signed_out_by_console' }); };
  runner.onWiped = () => { wiped(); };
}
