// Screens kept out of the first load: stand-ins that load an area's lazy chunk (which the
// service worker precaches, so they open offline too) on first use and then render the
// real screen. One loader per chunk, shared by its stand-ins; a failed load is tried again
// the next time a stand-in mounts.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n.js';

/** `load`: the chunk's dynamic import (a function, so Vite splits it); `title`, `failed`:
 *  i18n keys of the heading (none: no heading) and of the failure notice. Returns
 *  `lazy(name)`, the stand-in for the chunk's export `name`. */
export function lazyChunk(load, { title = null, failed: failedKey, loading: loadingKey = 'events.loading' }) {
  let loading = null;
  return function lazy(name) {
    return function LazyScreen(props) {
      const [screens, setScreens] = useState(null);
      const [failed, setFailed] = useState(false);
      useEffect(() => {
        let live = true;
        loading = loading || load();
        loading.then((m) => live && setScreens(m), () => { loading = null; if (live) setFailed(true); });
        return () => { live = false; };
      }, []);
      const heading = title ? <h1>{t(title)}</h1> : null;
      if (failed) return <main class="screen">{heading}<p class="notice">{t(failedKey)}</p></main>;
      if (!screens) return <main class="screen">{heading}<p class="muted">{t(loadingKey)}</p></main>;
      const Screen = screens[name];
      return <Screen {...props} />;
    };
  };
}
