// Notifications: the inbox and its settings (#/inbox...), registered from src/areas/index.js.
// The service worker's half (sw-push.js) is imported by src/sw.js, the page's Web Push
// start-up (push.js) by src/main.jsx.
import { Inbox, unreadCount } from './inbox.jsx';
import { Prefs } from './prefs.jsx';
import { NOTIFY_OVERLAY, NOTIFY_TYPES } from './overlay.js';
import { NOTIFY_STRINGS } from './strings.js';

export const NOTIFY_AREA = {
  name: 'notify',
  types: NOTIFY_TYPES,
  overlay: NOTIFY_OVERLAY,
  describers: {},
  strings: NOTIFY_STRINGS,
  icons: { inbox: 'M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0' },
  routes: [
    { pattern: /^\/inbox$/, screen: Inbox, tab: 'inbox' },
    { pattern: /^\/inbox\/prefs$/, screen: Prefs, tab: 'inbox', minRole: 'manager' },
  ],
  nav: [{ tab: 'inbox', href: '#/inbox', label: 'nav.inbox', icon: 'inbox', minRole: 'manager', badge: unreadCount }],
};
