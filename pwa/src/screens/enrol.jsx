// Enrolment stand-in: the user pastes the device token printed by
// `python -m server token issue`, or opens `/#/enrol?token=...`. The token is checked with
// the server (GET /api/v1/me) and kept in IndexedDB with who it belongs to.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { go } from '../router.js';
import { whoAmI } from '../sync/engine.js';
import { openStore, rekey } from '../sync/store.js';
import { refresh, runner } from '../state.js';

export function Enrol({ app, query }) {
  const [token, setToken] = useState(query?.get('token') || '');
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(value) {
    const clean = value.trim();
    if (!clean) return;
    setBusy(true);
    setMessage(t('enrol.checking'));
    try {
      const me = await whoAmI(clean);
      if (!(await keep(clean, me))) { setMessage(''); return; }
      await refresh();
      runner.kick();
      runner.connectEvents();
      go('/events', { replace: true }); // the token leaves the address bar and history
    } catch (err) {
      // Network down or server busy: try again later; anything else: the token is wrong.
      setMessage(t(err.kind === 'transient' ? 'enrol.offline' : 'enrol.bad_token'));
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => { if (query?.get('token')) submit(query.get('token')); }, []);

  return (
    <main class="screen enrol">
      <h1>{t('enrol.title')}</h1>
      <p class="muted">{t('enrol.help')}</p>
      {app.meta.me && <p>{t('me.user')}: {app.meta.me.user}</p>}
      <form onSubmit={(e) => { e.preventDefault(); submit(token); }}>
        <label for="token">{t('enrol.token')}</label>
        <textarea id="token" name="token" rows="3" autocomplete="off" autocapitalize="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <button class="primary block" type="submit" disabled={busy || !token.trim()}>{t('enrol.submit')}</button>
      </form>
      {message && <p class="notice" role="status" data-testid="enrol-message">{message}</p>}
      <p class="muted small-print">{t('enrol.admin_hint')}</p>
    </main>
  );
}

/** Store the token. A different user starts from a clean phone; a new token for the same
 *  user keeps the outbox under a fresh client id (a client id belongs to one token). */
async function keep(token, me) {
  const db = await openStore();
  const [oldMe, oldToken, clientId, pending] = await Promise.all([
    db.get('meta', 'me'), db.get('meta', 'token'), db.get('meta', 'client_id'), db.count('outbox'),
  ]);
  if (oldMe && oldMe.user !== me.user) {
    if (pending && !confirm(t('enrol.other_user', { n: pending }))) return false;
    const tx = db.transaction(['meta', 'outbox', 'replica', 'outcomes'], 'readwrite');
    await Promise.all(['meta', 'outbox', 'replica', 'outcomes'].map((s) => tx.objectStore(s).clear()));
    await tx.done;
  }
  if (!clientId || oldToken !== token || (oldMe && oldMe.user !== me.user)) await rekey(db, 'enrol');
  await db.put('meta', token, 'token');
  await db.put('meta', me, 'me');
  await db.put('meta', null, 'sync_state');
  await db.put('meta', null, 'retry_at');
  await db.put('meta', null, 'last_error');
  return true;
}
