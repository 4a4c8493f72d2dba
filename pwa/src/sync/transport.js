// The one way the app reaches the server: every network call of the client (sync push,
// pull and events, whoAmI, client config, push subscriptions, certificates, ...) goes
// through send(), so a test can hand in a fake with setFetch() and see or answer each call.

let custom = null;

/** Use `fn(input, init)` instead of the browser's fetch (null: the browser's again). */
export function setFetch(fn) {
  custom = fn;
}

/** fetch(input, init) through the current transport. */
export function send(input, init) {
  return custom ? custom(input, init) : globalThis.fetch(input, init);
}
