// Start-up: render from IndexedDB at once (works offline), ask for persistent storage,
// register the service worker (scope "/"), and start the sync loop, which replays the
// outbox as soon as the app opens.
import { render } from 'preact';
import { App } from './app.jsx';
import { startAreas } from './areas/index.js';
import { sendVersionEverywhere } from './sync/version.js';
import { ContextCheck } from './screens/context_check.jsx';
import { getLang, setLang } from './i18n.js';
import { fileQueue, refresh, runner, subscribe } from './state.js';
import { fetchConfig } from './config.js';
import { watchSeries } from './areas/donations/series.js';
import './styles.css';
import { listenForOpen, renewPush, shareLanguage } from './areas/notify/push.js';

sendVersionEverywhere(); // X-App-Version on every request to /api/
setLang(getLang());
const root = document.getElementById('app');
root.textContent = ''; // the static "Loading" line
render(<ContextCheck><App /></ContextCheck>, root); // plain http or WeChat: say what to do first
watchSeries(); // claims this phone's receipt series once enrolled as staff (online)
startAreas();
refresh().then(() => { runner.start(); fileQueue.start(); });
// the server's settings for the forms (cached; refetched once per token and when back online)
subscribe((snapshot) => { if (snapshot.meta.token) fetchConfig().then((changed) => changed && refresh()); });
addEventListener('online', () => fetchConfig({ force: true }).then((changed) => changed && refresh()));
shareLanguage();
listenForOpen();
refresh().then(() => renewPush()); // Web Push: keep the server's copy of the subscription fresh

if (navigator.storage?.persist) {
  navigator.storage.persisted().then((already) => already || navigator.storage.persist()).catch(() => {});
}

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).then((registration) => {
    const offer = () => registration.waiting && window.dispatchEvent(new CustomEvent('charity-update', { detail: registration }));
    offer();
    registration.addEventListener('updatefound', () => registration.installing?.addEventListener('statechange', offer));
  }).catch((err) => console.warn('service worker not registered', err));
}
