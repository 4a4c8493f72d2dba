// This phone's Web Push: the state in plain words and one button (a tap is the user
// gesture the permission prompt needs).
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { pushStatus, subscribeFromTap, unsubscribe } from './push.js';

export function usePushStatus() {
  const [status, setStatus] = useState(null);
  const reload = () => pushStatus().then(setStatus).catch(() => setStatus('unsupported'));
  useEffect(() => { reload(); }, []);
  return [status, reload];
}

export function PushSettings({ app }) {
  const [status, reload] = usePushStatus();
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState('');
  const prefs = app.view.notification_prefs?.get(app.meta.me?.user);

  async function run(fn) {
    setBusy(true);
    setNote('');
    try {
      const answer = await fn();
      if (answer === 'default') setNote(t('push.dismissed'));
    } catch (err) {
      // Our own errors carry the server's code; the browser's (DOMException) a name and message.
      const reason = typeof err.code === 'string' ? err.code : [err.name, err.message].filter(Boolean).join(': ');
      setNote(!navigator.onLine || err.code === 'network' ? t('push.offline') : t('push.failed', { msg: reason || String(err) }));
    } finally {
      setBusy(false);
      reload();
    }
  }

  if (status === null || !atLeast(app.meta.me, 'manager')) return null; // only managers are notified
  const blocked = status === 'unsupported' || status === 'insecure';
  return (
    <section class="push" data-testid="push-settings" data-status={status}>
      <h2>{t('push.title')}</h2>
      <p class={status === 'subscribed' ? 'ok' : status === 'denied' ? 'bad' : 'muted'} data-testid="push-status">
        {t(status === 'subscribed' ? 'push.subscribed' : status === 'off' ? 'push.off' : `push.${status}`)}
      </p>
      {status === 'subscribed' && prefs?.push_enabled === false && <p class="notice">{t('push.inbox_only')}</p>}
      {!blocked && status !== 'subscribed' && (
        <button type="button" class="primary block" disabled={busy} onClick={() => run(subscribeFromTap)} data-testid="push-subscribe">
          {busy ? t('push.working') : t('push.subscribe')}
        </button>
      )}
      {status === 'subscribed' && (
        <button type="button" class="block" disabled={busy} onClick={() => run(unsubscribe)} data-testid="push-unsubscribe">
          {busy ? t('push.working') : t('push.unsubscribe')}
        </button>
      )}
      {note && <p class="bad" role="alert" data-testid="push-note">{note}</p>}
    </section>
  );
}
