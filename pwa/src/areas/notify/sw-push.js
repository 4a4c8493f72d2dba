// The service worker's half of Web Push (docs/notifications.md "What the service worker
// receives"): show the notification in the app's language, tagged with the inbox record's
// id; on a tap, open the app at the payload's url and queue notification.mark_read through
// the same IndexedDB outbox the app uses, so the mark reaches the server even offline.
import { announce, enqueue } from '../../sync/engine.js';
import { getMeta } from '../../sync/store.js';

const FALLBACK = { title: { zh: '社区慈善有新通知', en: 'Community Charity: new notification' }, body: { zh: '', en: '' }, url: '/#/inbox' };

export function pickText(text, lang) {
  if (!text || typeof text !== 'object') return String(text ?? '');
  return (lang === 'en' ? text.en : text.zh) || text.zh || text.en || '';
}

/** Only app routes (same origin, a hash route) are opened from a push. */
export function safeUrl(url) {
  return typeof url === 'string' && url.startsWith('/#/') ? url : '/#/inbox';
}

function readPayload(event) {
  try {
    const data = event.data?.json();
    if (data && typeof data === 'object' && data.id) return data;
  } catch { /* not JSON: show the generic line */ }
  return null;
}

export async function showPush(sw, payload) {
  const lang = (await getMeta('lang').catch(() => null)) || 'zh';
  const note = payload || FALLBACK;
  await sw.registration.showNotification(pickText(note.title, lang), {
    body: pickText(note.body, lang),
    tag: note.id || 'charity',
    icon: '/icons/icon-192.png',
    badge: '/icons/favicon-32.png',
    lang: lang === 'en' ? 'en' : 'zh-CN',
    timestamp: note.created_at ? Date.parse(note.created_at) || Date.now() : Date.now(),
    data: { id: note.id || null, url: safeUrl(note.url), kind: note.kind || null },
  });
  announce(); // an open inbox re-reads (the record itself arrives with the next pull)
}

/** A tap: focus an open window of the app and send it to the url (or open one), and mark
 *  the inbox record read through the outbox. `replay` pushes the outbox when it can. */
export async function openFromNotification(sw, notification, replay) {
  notification.close();
  const { id, url } = notification.data || {};
  const target = safeUrl(url);
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((c) => new URL(c.url).origin === sw.location.origin);
  if (open) {
    open.postMessage({ type: 'OPEN_URL', url: target });
    await open.focus().catch(() => {}); // allowed only within a real tap
  } else {
    await sw.clients.openWindow(target);
  }
  if (id && (await getMeta('token'))) {
    await enqueue('notification.mark_read', { ids: [id], read: true });
    announce();
    await replay().catch(() => {}); // offline: the outbox keeps it; the app sends it later
  }
}

export function installPush(sw, replay) {
  sw.addEventListener('push', (event) => event.waitUntil(showPush(sw, readPayload(event))));
  sw.addEventListener('notificationclick', (event) => event.waitUntil(openFromNotification(sw, event.notification, replay)));
  // The same path a tap takes, for a notification still on screen, by its tag: headless
  // browsers (the tests) cannot tap a system notification. Only pages of this origin can
  // message the worker, and all it does is what a tap does.
  sw.addEventListener('message', (event) => {
    if (event.data?.type !== 'OPEN_NOTIFICATION') return;
    event.waitUntil(sw.registration.getNotifications({ tag: event.data.tag })
      .then((found) => found[0] && openFromNotification(sw, found[0], replay)));
  });
}
