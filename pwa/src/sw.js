// The service worker: precaches the app shell from the build's list (self.__WB_MANIFEST,
// filled in by vite-plugin-pwa), answers every navigation with the cached shell so the app
// starts with no network, and replays the outbox when it starts and on Background Sync.
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { announce, syncOnce } from './sync/engine.js';
import { backoffDelay } from './sync/runner.js';
import { getMeta, openStore } from './sync/store.js';
import { installPush } from './areas/notify/sw-push.js';

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), {
  // the server's own pages: the public disclosure, Swagger UI, the health check
  denylist: [/^\/api\//, /^\/public\//, /^\/schema(\/|$)/, /^\/healthz/],
}));
clientsClaim();

self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') self.skipWaiting();
});

/** Push what the outbox holds, unless a tab is syncing right now (it will do it) or a
 *  failure's wait (backoff, Retry-After) has not ended. */
async function replay() {
  const token = await getMeta('token');
  const pending = token ? await (await openStore()).count('outbox') : 0;
  if (!pending) return;
  try {
    await syncOnce(token, { ifAvailable: true, onError: waitAfter });
    announce();
  } catch (err) {
    announce('held', { retryAt: await getMeta('retry_at') }); // the leading tab retries then
    throw err;
  }
}

function waitAfter(err) {
  return err.kind === 'transient' ? Math.max(backoffDelay(0), (err.retryAfter ?? 0) * 1000) : null;
}

self.addEventListener('sync', (event) => {
  // A failure makes the browser try again later; the page replays on open anyway.
  if (event.tag === 'charity-outbox') event.waitUntil(replay());
});

installPush(self, replay);

// Each time the worker starts (the browser wakes it for a fetch, a sync, a push).
replay().catch(() => {});
