// Hash routes (#/events/ID), so every screen works from the cached shell with no server.
import { useEffect, useState } from 'preact/hooks';

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(query) };
}

export function useRoute() {
  const [initialHash] = useState(() => location.hash);
  const [route, set] = useState(() => parseHash(initialHash));
  useEffect(() => {
    const on = () => { set(parseHash()); scrollTo(0, 0); }; // a new screen starts at its top
    addEventListener('hashchange', on);
    // The hash may have changed between the first render and this effect (a link opened
    // while the app was starting): read it again, or that change is lost.
    const now = location.hash;
    if (now !== initialHash) set(parseHash(now));
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', `#${path}`);
  else location.hash = path;
  if (replace) dispatchEvent(new HashChangeEvent('hashchange'));
}

/** The first route whose pattern matches `path`, with its captured params. */
export function match(routes, path) {
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (m) return { route, params: m.slice(1).map(decodeURIComponent) };
  }
  return null;
}
