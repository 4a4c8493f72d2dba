// The project screens as stand-ins that load the real ones (project-screens.js, a lazy chunk the
// service worker precaches, so it opens offline too) on first use.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n.js';

let loading = null;

export function lazy(name) {
  return function LazyScreen(props) {
    const [screens, setScreens] = useState(null);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      let live = true;
      loading = loading || import('./project-screens.js');
      loading.then((m) => live && setScreens(m), () => { loading = null; if (live) setFailed(true); });
      return () => { live = false; };
    }, []);
    if (failed) return <main class="screen"><h1>{t('sp.title')}</h1><p class="notice">{t('sp.load_failed')}</p></main>;
    if (!screens) return <main class="screen"><h1>{t('sp.title')}</h1><p class="muted">{t('events.loading')}</p></main>;
    const Screen = screens[name];
    return <Screen {...props} />;
  };
}
