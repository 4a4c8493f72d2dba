// The build's version, sent as X-App-Version on every request (the server keeps it per
// device, and the console shows which phones still run an old build). Vite defines
// __APP_VERSION__ (vite.config.js: package.json's version); Node tests see "dev".
/* global __APP_VERSION__ */
export const APP_VERSION = typeof __APP_VERSION__ !== 'undefined' ? __APP_VERSION__ : 'dev';
export const VERSION_HEADER = 'X-App-Version';

/** Wrap `fetch` so every request to this server's /api/ carries the header, including
 *  those of screens that call fetch themselves (downloads, the console, Web Push). */
export function sendVersionEverywhere(scope = globalThis) {
  const plain = scope.fetch.bind(scope);
  scope.fetch = (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url, scope.location?.href);
    if (url.origin !== scope.location?.origin || !url.pathname.startsWith('/api/')) return plain(input, init);
    const headers = new Headers(init.headers || (typeof input === 'string' ? undefined : input.headers));
    if (!headers.has(VERSION_HEADER)) headers.set(VERSION_HEADER, APP_VERSION);
    return plain(input, { ...init, headers });
  };
}
