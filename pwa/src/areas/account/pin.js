// The app lock: a PIN of 4 to 8 digits kept only as a PBKDF2-SHA-256 hash (WebCrypto) in
// IndexedDB (meta `pin`), wrong tries counted in meta `pin_fail` (so a reload does not
// reset the wait), and the lock itself, which is per tab: locked at start and after
// `idleMs` without a touch or key.
import { useEffect, useState } from 'preact/hooks';
import { openStore } from '../../sync/store.js';
import { pinRequiredFor } from './policy.js';

export const PIN_ITERATIONS = 310000;
export const FREE_TRIES = 5;
const IDLE_DEFAULT_MS = 5 * 60 * 1000;

export function validPin(pin) {
  return /^[0-9]{4,8}$/.test(pin);
}

const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function derive(pin, salt, iterations) {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(pin), 'PBKDF2', false, ['deriveBits']);
  return b64(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256));
}

export async function setPin(pin) {
  if (!validPin(pin)) throw new Error('PIN must be 4 to 8 digits');
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const record = { salt: b64(salt), iterations: PIN_ITERATIONS, hash: await derive(pin, salt, PIN_ITERATIONS) };
  const db = await openStore();
  const tx = db.transaction('meta', 'readwrite');
  await tx.store.put(record, 'pin');
  await tx.store.put(null, 'pin_fail');
  await tx.done;
}

/** The wait after `count` wrong tries: none for the first five, then 30 s doubling, at most an hour. */
export function failDelayMs(count) {
  return count < FREE_TRIES ? 0 : Math.min(3600000, 30000 * 2 ** (count - FREE_TRIES));
}

/** Check a PIN. Returns {ok: true} or {ok: false, fails, until} (until: no try before). */
export async function checkPin(pin) {
  const db = await openStore();
  const [record, fail] = await Promise.all([db.get('meta', 'pin'), db.get('meta', 'pin_fail')]);
  if (!record) return { ok: true };
  if (fail?.until && fail.until > Date.now()) return { ok: false, fails: fail.count, until: fail.until, waiting: true };
  const hash = await derive(pin, unb64(record.salt), record.iterations);
  if (hash === record.hash) { await db.put('meta', null, 'pin_fail'); return { ok: true }; }
  const count = (fail?.count || 0) + 1;
  const wait = failDelayMs(count);
  const next = { count, until: wait ? Date.now() + wait : null };
  await db.put('meta', next, 'pin_fail');
  return { ok: false, fails: count, until: next.until };
}

// -- who must set a PIN (docs/pwa.md "App lock") ---------------------------------------------

let policy = null; // this tab's answer, read once: a station turning the PIN on asks at the next start, not mid-task

/** Whether the app shows "set a PIN" before anything else: enrolled by a code or sign-up
 *  (meta `pin_due`; the recovery token is exempt), no PIN yet, and `pinRequiredFor`. */
export function pinAsked(app) {
  const { meta, view } = app;
  if (!meta.token || meta.pin || !meta.pin_due) return false;
  if (policy === null) policy = pinRequiredFor(meta.me, view);
  return policy === true;
}

/** A new enrolment decides again (app.jsx reads it at the next render). */
export function resetPinPolicy() { policy = null; }

// -- the lock (per tab) ---------------------------------------------------------------------

/** Idle time before locking: 5 minutes; tests shorten it with localStorage
 *  `charity.lock_idle_ms`. */
export function idleMs() {
  const set = Number(globalThis.localStorage?.getItem('charity.lock_idle_ms'));
  return Number.isFinite(set) && set > 0 ? set : IDLE_DEFAULT_MS;
}

let unlocked = false; // a new tab starts locked
let lastActive = Date.now();
const listeners = new Set();
const notify = () => listeners.forEach((fn) => fn(unlocked));

export function unlock() { unlocked = true; lastActive = Date.now(); notify(); }
export function lockNow() { unlocked = false; notify(); }

let watching = false;
function watchIdle() {
  if (watching) return;
  watching = true;
  const touch = () => { lastActive = Date.now(); };
  for (const name of ['pointerdown', 'keydown', 'touchstart', 'wheel']) addEventListener(name, touch, { passive: true, capture: true });
  const check = () => { if (unlocked && Date.now() - lastActive >= idleMs()) lockNow(); };
  setInterval(check, Math.min(5000, Math.max(250, idleMs() / 4)));
  document.addEventListener('visibilitychange', check);
}

/** Whether the app shows the lock screen instead of itself: a PIN is set and this tab has
 *  not been unlocked since it started or last went idle. */
export function useLocked(app) {
  const [open, set] = useState(unlocked);
  useEffect(() => { watchIdle(); listeners.add(set); set(unlocked); return () => listeners.delete(set); }, []);
  return !!(app.meta.token && app.meta.pin) && !open;
}
