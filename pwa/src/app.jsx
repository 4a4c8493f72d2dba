// The shell: header with the language switch, the sync bar, the screen for the route,
// and the bottom navigation (thumb reach). ROUTES and NAV are where phase-2 screens go.
import { t, setLang, getLang, useLang } from './i18n.js';
import { match, useRoute } from './router.js';
import { atLeast } from './roles.js';
import { useApp } from './state.js';
import { SyncBar } from './screens/syncbar.jsx';
import { Enrol } from './screens/enrol.jsx';
import { EventDetail, EventForm, EventList } from './areas/events/events.jsx';
import { Review } from './areas/events/review.jsx';
import { Me } from './screens/me.jsx';
import { Icon } from './icons.jsx';
import { DonationHome } from './areas/donations/home.jsx';
import { DonationForm } from './areas/donations/record.jsx';
import { DonationDetail } from './areas/donations/detail.jsx';
import { ReceiptScreen } from './areas/donations/receipt.jsx';
import { FundsScreen } from './areas/donations/funds.jsx';
import { Inbox, unreadCount } from './areas/notify/inbox.jsx';
import { Prefs } from './areas/notify/prefs.jsx';
import { TIMEBANK_NAV, TIMEBANK_ROUTES } from './areas/timebank/index.js';

/** minRole: who may open it. */
export const ROUTES = [
  { pattern: /^\/enrol$/, screen: Enrol, open: true },
  { pattern: /^\/(?:events)?$/, screen: EventList, tab: 'events' },
  { pattern: /^\/events\/new$/, screen: EventForm, tab: 'events', minRole: 'staff' },
  { pattern: /^\/events\/([^/]+)\/edit$/, screen: EventForm, tab: 'events', minRole: 'staff' },
  { pattern: /^\/events\/([^/]+)$/, screen: EventDetail, tab: 'events' },
  { pattern: /^\/review$/, screen: Review, tab: 'review', minRole: 'manager' },
  { pattern: /^\/me$/, screen: Me, tab: 'me' },
  ...TIMEBANK_ROUTES,
  { pattern: /^\/donations$/, screen: DonationHome, tab: 'donations', minRole: 'staff' },
  { pattern: /^\/donations\/new\/(money|goods)$/, screen: DonationForm, tab: 'donations', minRole: 'staff' },
  { pattern: /^\/donations\/d\/([^/]+)$/, screen: DonationDetail, tab: 'donations', minRole: 'staff' },
  { pattern: /^\/receipts\/([^/]+)$/, screen: ReceiptScreen, tab: 'donations', minRole: 'staff' },
  { pattern: /^\/funds(?:\/.*)?$/, screen: FundsScreen, tab: 'donations', minRole: 'manager' },
  { pattern: /^\/inbox$/, screen: Inbox, tab: 'inbox' },
  { pattern: /^\/inbox\/prefs$/, screen: Prefs, tab: 'inbox', minRole: 'manager' },
  // Where a notification's url leads (server/notify/kinds.py; tests/test_notify_routes.py).
  { pattern: /^\/review\/([^/]+)$/, screen: Review, tab: 'review', minRole: 'manager' },
  { pattern: /^\/corrections\/([^/]+)$/, screen: FundsScreen, tab: 'donations', minRole: 'manager' },
];

/** Bottom tabs in order; each shows only to the roles that may use it. */
export const NAV = [
  { tab: 'events', href: '#/events', label: 'nav.events', icon: 'events' },
  { tab: 'donations', href: '#/donations', label: 'nav.donations', icon: 'donations', minRole: 'staff' },
  ...TIMEBANK_NAV,
  { tab: 'review', href: '#/review', label: 'nav.review', icon: 'review', minRole: 'manager' },
  { tab: 'inbox', href: '#/inbox', label: 'nav.inbox', icon: 'inbox', minRole: 'manager', badge: unreadCount },
  { tab: 'me', href: '#/me', label: 'nav.me', icon: 'me' },
];

export function App() {
  useLang();
  const app = useApp();
  const route = useRoute();
  const me = app.meta.me;
  if (!app.loaded) return <main class="screen"><p class="muted">{t('events.loading')}</p></main>;
  const found = match(ROUTES, route.path);
  const enrolled = !!app.meta.token;
  let body;
  if (!enrolled || (found && found.route.open)) {
    body = <Enrol app={app} query={route.query} />;
  } else if (!found || (found.route.minRole && !atLeast(me, found.route.minRole))) {
    body = <main class="screen"><p>{t('notfound')}</p><a class="button" href="#/events">{t('event.back')}</a></main>;
  } else {
    const Screen = found.route.screen;
    body = <Screen app={app} params={found.params} query={route.query} />;
  }
  const tab = found?.route.tab;
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="#/events"><img src="/icons/favicon-32.png" alt="" width="24" height="24" />{t('app.name')}</a>
        <button class="lang" type="button" onClick={() => setLang(getLang() === 'zh' ? 'en' : 'zh')} title="切换语言 · Switch language">{t('lang.switch')}</button>
      </header>
      {enrolled && <SyncBar app={app} />}
      <div class="content">{body}</div>
      {enrolled && (
        <nav class="tabs">
          {NAV.filter((item) => !item.minRole || atLeast(me, item.minRole)).map((item) => (
            <a key={item.tab} href={item.href} class={tab === item.tab ? 'active' : ''} aria-current={tab === item.tab ? 'page' : undefined}>
              <Icon name={item.icon} />{t(item.label)}
              {item.tab === 'review' && openConflicts(app) > 0 && <span class="badge">{openConflicts(app)}</span>}
              {item.badge && item.badge(app) > 0 && <span class="badge" data-testid={`badge-${item.tab}`}>{item.badge(app)}</span>}
            </a>
          ))}
        </nav>
      )}
    </div>
  );
}

function openConflicts(app) {
  let n = 0;
  for (const c of app.view.conflict.values()) if (c.status === 'open') n++;
  return n;
}

