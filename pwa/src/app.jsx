// The shell: header with the language switch, the sync bar, the screen for the route,
// and the bottom navigation (thumb reach). The areas' routes and tabs come from src/areas/.
import { t, setLang, getLang, useLang } from './i18n.js';
import { match, useRoute } from './router.js';
import { atLeast } from './roles.js';
import { useApp } from './state.js';
import { SyncBar } from './screens/syncbar.jsx';
import { Me } from './screens/me.jsx';
import { Icon } from './icons.jsx';
import { AREA_NAV, AREA_ROUTES } from './areas/index.js';
import { EnrolScreen, LockScreen, PinSetup, pinAsked, useLocked } from './areas/account/index.js';

/** minRole: who may open it. */
export const ROUTES = [
  { pattern: /^\/me$/, screen: Me, tab: 'me' },
  ...AREA_ROUTES,
];

/** Bottom tabs in order (the areas', then Me); each shows only to the roles that may use it. */
export const NAV = [
  ...AREA_NAV,
  { tab: 'me', href: '#/me', label: 'nav.me', icon: 'me' },
];

export function App() {
  useLang();
  const app = useApp();
  const route = useRoute();
  const me = app.meta.me;
  const locked = useLocked(app);
  if (!app.loaded) return <main class="screen"><p class="muted">{t('events.loading')}</p></main>;
  const found = match(ROUTES, route.path);
  const enrolled = !!app.meta.token;
  // The app lock replaces the whole app (nothing personal stays in the page), and staff
  // enrolled by a code at a station that requires it set their PIN before anything else
  // (src/areas/account/pin.js `pinAsked`).
  if (enrolled && locked) return <LockScreen app={app} />;
  if (pinAsked(app)) return <PinSetup app={app} first />;
  let body;
  if (found && found.route.open) {
    const Screen = found.route.screen;
    body = <Screen app={app} params={found.params} query={route.query} />;
  } else if (!enrolled) {
    body = <EnrolScreen app={app} query={route.query} />;
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
              <Icon name={item.icon} /><span class="label">{t(item.label)}</span>
              {item.badge && item.badge(app) > 0 && <span class="badge" data-testid={`badge-${item.tab}`}>{item.badge(app)}</span>}
            </a>
          ))}
        </nav>
      )}
    </div>
  );
}
