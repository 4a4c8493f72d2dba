// Web Push on the page side (docs/notifications.md "Web Push endpoints"): subscribe from a
// user's tap, upsert the subscription on every start, re-subscribe when the server's VAPID
// key changed, unsubscribe. A push only wakes the phone; the inbox is the truth.
import { getLang, onLang } from '../../i18n.js';
import { getMeta, setMeta } from '../../sync/store.js';
import { send } from '../../sync/transport.js';

/** Why push cannot work here, or null: 'insecure', 'unsupported' (no Push API, e.g. iOS
 *  Safari outside a home-screen app). */
export function pushUnsupported() {
  if (!globalThis.isSecureContext) return 'insecure';
  if (!('serviceWorker' in navigator) || !('PushManager' in globalThis) || !('Notification' in globalThis)) return 'unsupported';
  return null;
}

export function permission() {
  return globalThis.Notification?.permission ?? 'default';
}

/** base64url text -> bytes (applicationServerKey) and back. */
export function fromB64url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export function toB64url(buffer) {
  let text = '';
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

class PushError extends Error {
  constructor(code, status = 0) {
    super(code);
    this.code = code;
    this.status = status;
  }
}

async function api(method, path, token, body) {
  let response;
  try {
    response = await send(path, {
      method, cache: 'no-store',
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new PushError('network');
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new PushError(answer?.code || `http_${response.status}`, response.status);
  return answer;
}

async function registration() {
  return navigator.serviceWorker.ready;
}

function keyOf(subscription) {
  const raw = subscription?.options?.applicationServerKey;
  return raw ? toB64url(raw) : null;
}

/** POST the subscription with the key it was made with; 409 vapid_key_changed says the
 *  server rotated its key. */
async function post(subscription, publicKey, token) {
  const body = { ...subscription.toJSON(), application_server_key: publicKey };
  const answer = await api('POST', '/api/v1/push/subscriptions', token, body);
  await setMeta('push', { endpoint: subscription.endpoint, public_key: publicKey, at: new Date().toISOString() });
  return answer;
}

/** Subscribe (or renew) with the server's current key and register it. Needs permission,
 *  so the first call must come from a tap (subscribeFromTap). */
async function subscribeWithCurrentKey(token, { fresh = false } = {}) {
  const { public_key: publicKey } = await api('GET', '/api/v1/push/vapid-public-key');
  const reg = await registration();
  let subscription = await reg.pushManager.getSubscription();
  const stored = await getMeta('push');
  const had = keyOf(subscription) || stored?.public_key;
  if (subscription && (fresh || had !== publicKey)) {
    // Made under an older key: push services refuse it now. Drop it here and on the server.
    await forget(subscription, token);
    subscription = null;
  }
  if (!subscription) {
    subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(publicKey) });
  }
  try {
    return await post(subscription, publicKey, token);
  } catch (err) {
    if (err.code !== 'vapid_key_changed' || fresh) throw err;
    return subscribeWithCurrentKey(token, { fresh: true }); // rotated between our two requests
  }
}

/** The button: ask for permission (a user gesture), then subscribe. Returns 'subscribed',
 *  'denied' or 'default' (the prompt was dismissed). */
export async function subscribeFromTap() {
  const answer = await Notification.requestPermission();
  if (answer !== 'granted') return answer;
  const token = await getMeta('token');
  await subscribeWithCurrentKey(token);
  return 'subscribed';
}

async function forget(subscription, token) {
  await api('DELETE', `/api/v1/push/subscriptions?endpoint=${encodeURIComponent(subscription.endpoint)}`, token).catch(() => {});
  await subscription.unsubscribe().catch(() => {});
}

export async function unsubscribe() {
  const subscription = await (await registration()).pushManager.getSubscription();
  if (subscription) await forget(subscription, await getMeta('token'));
  await setMeta('push', null);
}

/** What the Me screen shows: 'insecure' | 'unsupported' | 'denied' | 'subscribed' | 'off'. */
export async function pushStatus() {
  const reason = pushUnsupported();
  if (reason) return reason;
  if (permission() === 'denied') return 'denied';
  const subscription = await (await registration()).pushManager.getSubscription().catch(() => null);
  return subscription && permission() === 'granted' ? 'subscribed' : 'off';
}

/** On every start: keep the server's copy of the subscription fresh (it may have been
 *  dropped after a 410, or the key rotated). Never prompts. */
export async function renewPush() {
  if (pushUnsupported() || permission() !== 'granted' || !navigator.onLine) return;
  const token = await getMeta('token');
  const subscription = await (await registration()).pushManager.getSubscription();
  if (!token || !subscription) return;
  try {
    await subscribeWithCurrentKey(token);
  } catch (err) {
    console.warn('push subscription not renewed', err.code || err);
  }
}

/** The service worker shows notifications in the app's language; it has no localStorage. */
export function shareLanguage() {
  setMeta('lang', getLang()).catch(() => {});
  onLang((lang) => setMeta('lang', lang).catch(() => {}));
}

/** A tap on a notification while the app is open: the worker asks the page to go there. */
export function listenForOpen() {
  navigator.serviceWorker?.addEventListener('message', (event) => {
    if (event.data?.type === 'OPEN_URL' && typeof event.data.url === 'string') {
      const hash = new URL(event.data.url, location.origin).hash;
      if (hash) location.hash = hash;
    }
  });
}
