// The dashboard's screens as stand-ins that load the real ones (dashboard.jsx) on first use.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n.js';

let loading = null;

/** A screen of dashboard.jsx, loaded on first use (a lazy chunk with its style sheet). */
export function lazy(name) {
  return function LazyScreen(props) {
    const [screens, setScreens] = useState(null);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      let live = true;
      loading = loading || import('./dashboard.jsx');
      loading.then((m) => live && setScreens(m), () => { loading = null; if (live) setFailed(true); });
      return () => { live = false; };
    }, []);
    if (failed) return <main class="screen"><p class="notice">{t('dash.load_failed')}</p></main>;
    if (!screens) return <main class="screen"><p class="muted">{t('dash.loading')}</p></main>;
    const Screen = screens[name];
    return <Screen {...props} />;
  };
}
