// The service worker: precaches the app shell from the build's list (self.__WB_MANIFEST,
// filled in by vite-plugin-pwa), answers every navigation with the cached shell so the app
// starts with no network, and replays the outbox when it starts and on Background Sync.
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { announce, syncOnce } from './sync/engine.js';
import { getMeta, openStore } from './sync/store.js';

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), {
  denylist: [/^\/api\//, /^\/public\//, /^\/healthz/],
}));
clientsClaim();

self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') self.skipWaiting();
});

/** Push what the outbox holds, unless a tab is syncing right now (it will do it) or the
 *  server asked to wait (Retry-After and backoff, kept in sync_state by the page). */
async function replay() {
  const token = await getMeta('token');
  const pending = token ? await (await openStore()).count('outbox') : 0;
  if (!pending) return;
  const state = await getMeta('sync_state');
  if (state?.retryAt && state.retryAt > Date.now()) return;
  await syncOnce(token, { ifAvailable: true });
  announce();
}

self.addEventListener('sync', (event) => {
  // A failure makes the browser try again later; the page replays on open anyway.
  if (event.tag === 'charity-outbox') event.waitUntil(replay());
});

// Each time the worker starts (the browser wakes it for a fetch, a sync, a push).
replay().catch(() => {});
