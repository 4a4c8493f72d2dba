// Enrolment (#/enrol): a link from the QR code (`?code=…`), a camera scan, a typed short
// code, or a recovery token (`?token=…`, from `python -m server token issue`). Opening a link
// never silently replaces the person already on the phone: the screen asks first, showing
// who it is and how much is unsynced. A new token for the same person keeps the outbox.
import { useEffect, useState } from 'preact/hooks';
import { getLang, pick, t } from '../../i18n.js';
import { go } from '../../router.js';
import { RUN_LOCK, pushAll, whoAmI } from '../../sync/engine.js';
import { forgetAll, openStore, rekey } from '../../sync/store.js';
import { refresh, runner } from '../../state.js';
import { exchangeCode, normaliseShort, readScanned } from './api.js';
import { deviceId, keepDeviceId, proposeName } from './device.js';
import { resetPinPolicy, unlock } from './pin.js';
import { Scanner } from './scan.jsx';

/** Who is on the phone, in words: the name the server gave (or the user id) and the role. */
export function currentPerson(meta) {
  const me = meta.me;
  if (!meta.token || !me) return null;
  return { user: me.user, name: me.name || me.user, role: t(`role.${me.role}`) };
}

export function EnrolScreen({ app, query }) {
  const person = currentPerson(app.meta);
  const fromLink = query?.get('code') ? { code: query.get('code') } : query?.get('token') ? { token: query.get('token') } : null;
  const [incoming, setIncoming] = useState(fromLink); // what the person wants to enrol with
  const [deviceName, setDeviceName] = useState(() => proposeName(person?.name, getLang()));
  const [short, setShort] = useState('');
  const [token, setToken] = useState('');
  const [message, setMessage] = useState(null); // {text, advice}
  const [busy, setBusy] = useState(false);
  const [scanning, setScanning] = useState(false);
  const [lost, setLost] = useState(0); // unsynced items that could not be sent before replacing

  // A link opened while this screen shows (a hash change) starts over with it; the secret
  // leaves the address bar and history at once (it stays in memory only).
  const linkKey = fromLink ? JSON.stringify(fromLink) : '';
  useEffect(() => {
    if (!fromLink) return;
    setIncoming(fromLink); setMessage(null); setLost(0);
    history.replaceState(null, '', '#/enrol');
  }, [linkKey]);

  // A recovery token for nobody-yet, or for the same person: no question to ask.
  useEffect(() => {
    if (!incoming?.token) return;
    if (!person) { enrol(incoming); return; }
    whoAmI(incoming.token).then((me) => { if (me.user === person.user) enrol(incoming, { me }); })
      .catch(() => {}); // asked below; the error shows when they go on
  }, [incoming]);

  async function enrol(what, { me: known = null, force = false } = {}) {
    setBusy(true);
    setMessage({ text: t('enrol.checking') });
    try {
      const db = await openStore();
      // Deliver what the current person holds before anything changes hands.
      const oldToken = await db.get('meta', 'token');
      if (oldToken && (await db.count('outbox')) && navigator.onLine) {
        try { await (navigator.locks ? navigator.locks.request(RUN_LOCK, () => pushAll(oldToken)) : pushAll(oldToken)); } catch { /* counted below */ }
      }
      let answer;
      if (what.token) {
        answer = { token: what.token, me: known || await whoAmI(what.token) };
      } else {
        answer = await exchangeCode({ code: what.code, shortCode: what.shortCode, deviceName: deviceName.trim() || proposeName(null, getLang()), deviceId: await deviceId() });
        await keepDeviceId(answer.device_id);
      }
      const oldMe = await db.get('meta', 'me');
      const left = await db.count('outbox');
      if (oldMe && answer.me?.user !== oldMe.user && left && !force) {
        // A code is spent by now: keep the new token aside until they decide.
        setLost(left);
        setIncoming({ token: answer.token, me: answer.me, lost: true });
        setMessage(null);
        return;
      }
      await keep(answer.token, answer.me, { byCode: !what.token });
      await refresh();
      runner.kick();
      runner.connectEvents();
      go('/events', { replace: true });
    } catch (err) {
      if (what.token && err.kind === 'auth') {
        setIncoming(null);
        setMessage({ make: () => ({ code: err.body?.code, text: t('enrol.bad_token'), advice: err.body?.message ? pick(err.body.message) : null }) });
      } else {
        setMessage({ make: () => refusal(err) }); // built in the language shown
      }
    } finally {
      setBusy(false);
    }
  }

  function submitShort(e) {
    e.preventDefault();
    const code = normaliseShort(short);
    if (!code) { setMessage({ make: () => ({ text: t('enrol.short_bad') }) }); return; }
    const what = { shortCode: code };
    if (person) setIncoming(what); else enrol(what);
  }

  function scanned(text) {
    setScanning(false);
    const found = readScanned(text);
    if (!found) { setMessage({ text: t('scan.not_enrol') }); return; }
    if (found.route === 'signup') { go(`/signup?code=${encodeURIComponent(found.code)}`); return; }
    setIncoming(found);
  }

  const notice = noticeOf(app);
  const asking = !!(incoming && person);
  return (
    <main class="screen enrol account">
      {notice && <p class="notice why" role="alert" data-testid="enrol-notice" data-code={notice.code}>{notice.text}</p>}
      {asking ? (
        <ReplaceQuestion app={app} person={person} lost={lost} busy={busy}
          onGo={() => enrol(incoming, { me: incoming.me, force: !!incoming.lost })}
          onCancel={() => { setIncoming(null); setLost(0); setMessage(null); go('/events', { replace: true }); }}>
          {!incoming.token && <DeviceName value={deviceName} onInput={setDeviceName} />}
        </ReplaceQuestion>
      ) : incoming?.code || incoming?.shortCode ? (
        <section class="card-block" data-testid="enrol-link">
          <h1>{t('enrol.link_title')}</h1>
          <p class="muted">{t('enrol.link_help')}</p>
          <DeviceName value={deviceName} onInput={setDeviceName} />
          <button class="primary block" type="button" disabled={busy} onClick={() => enrol(incoming)} data-testid="enrol-go">{t('enrol.submit_link')}</button>
          {!busy && message?.make && <button type="button" class="block" onClick={() => { setIncoming(null); setMessage(null); }}>{t('pin.cancel')}</button>}
        </section>
      ) : (
        <>
          <h1>{t('enrol.title')}</h1>
          {person && <p data-testid="enrol-current">{t('enrol.current', { name: person.name })}</p>}
          <p class="muted">{t('enrol.help')}</p>
          <button class="primary block big" type="button" onClick={() => { setMessage(null); setScanning(true); }} data-testid="enrol-scan">{t('enrol.scan')}</button>
          {scanning && <Scanner onText={scanned} onClose={() => setScanning(false)} />}
          <form onSubmit={submitShort} data-testid="enrol-short-form">
            <label for="short">{t('enrol.short_code')}</label>
            <input id="short" name="short" class="shortcode" autocomplete="one-time-code" autocapitalize="characters" spellcheck={false}
              placeholder="ABCD-EFGH" maxLength={12} value={short} onInput={(e) => setShort(e.currentTarget.value)} />
            <small class="muted">{t('enrol.short_hint')}</small>
            <DeviceName value={deviceName} onInput={setDeviceName} />
            <button class="primary block" type="submit" disabled={busy || !short.trim()}>{t('enrol.submit')}</button>
          </form>
          <Message message={message} />
          <details class="recovery">
            <summary>{t('enrol.recovery')}</summary>
            <form onSubmit={(e) => { e.preventDefault(); if (token.trim()) setIncoming({ token: token.trim() }); }}>
              <label for="token">{t('enrol.token')}</label>
              <textarea id="token" name="token" rows="3" autocomplete="off" autocapitalize="off" spellcheck={false} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
              <button class="block" type="submit" disabled={busy || !token.trim()}>{t('enrol.use_token')}</button>
            </form>
          </details>
          <p class="muted small-print">{t('enrol.admin_hint')}</p>
        </>
      )}
      {(asking || incoming?.code || incoming?.shortCode) && <Message message={message} />}
    </main>
  );
}

/** A line under the form: {text, advice, code}, or {make} to build it in the language shown. */
export function Message({ message }) {
  const shown = message?.make ? message.make() : message;
  if (!shown) return null;
  return (
    <div class="notice" role="status" data-testid="enrol-message" data-code={shown.code || ''}>
      {shown.text}{shown.advice && <><br /><span class="muted">{shown.advice}</span></>}
    </div>
  );
}

function DeviceName({ value, onInput }) {
  return (
    <>
      <label for="device-name">{t('enrol.device_name')}</label>
      <input id="device-name" name="device_name" maxLength={64} value={value} onInput={(e) => onInput(e.currentTarget.value)} data-testid="device-name" />
      <small class="muted">{t('enrol.device_name_hint')}</small>
    </>
  );
}

/** The question before another enrolment replaces (or renews) the one on this phone. */
export function ReplaceQuestion({ app, person, lost, busy, onGo, onCancel, children }) {
  const pending = app.outbox.length;
  return (
    <section class="card-block replace" data-testid="enrol-replace">
      <h1>{t('enrol.replace_title')}</h1>
      <p data-testid="enrol-replace-who"><strong>{t('enrol.replace_who', { name: person.name, role: person.role })}</strong></p>
      <p data-testid="enrol-replace-pending" data-count={pending} class={pending ? 'bad' : 'muted'}>
        {pending ? t('enrol.replace_pending', { n: pending }) : t('enrol.replace_none_pending')}
      </p>
      <p class="muted">{t('enrol.replace_help', { name: person.name })}</p>
      {lost > 0 && <p class="bad" data-testid="enrol-replace-lost">{t('enrol.replace_lost', { n: lost })}</p>}
      {children}
      <button type="button" class={`block ${lost ? 'danger' : 'primary'}`} disabled={busy} onClick={onGo} data-testid="enrol-replace-go">
        {lost ? t('enrol.replace_lose', { n: lost }) : t('enrol.replace_go')}
      </button>
      <button type="button" class="block" disabled={busy} onClick={onCancel} data-testid="enrol-replace-cancel">{t('enrol.replace_cancel', { name: person.name })}</button>
    </section>
  );
}

/** Why the phone is on this screen: wiped, signed out, or its token expired. */
function noticeOf(app) {
  const stored = app.meta.notice;
  if (app.meta.token && app.meta.sync_state?.error?.code === 'device_expired') {
    return { code: 'device_expired', text: t('enrol.why.device_expired', { n: app.outbox.length }) };
  }
  if (!stored || app.meta.token) return null;
  const key = `enrol.why.${stored.code}`;
  let text = t(key);
  if (stored.left) text += ` ${t('enrol.why.lost_items', { n: stored.left })}`;
  return { code: stored.code, text };
}

/** A refused exchange in words: the server's reason, and what to do. */
export function refusal(err) {
  const code = err.body?.code || (err.kind === 'transient' && err.status === 0 ? 'network' : null);
  if (code === 'network') return { code, text: t('enrol.offline') };
  if (code === 'rate_limited') return { code, text: pick(err.body.message), advice: t('enrol.wait', { m: Math.max(1, Math.ceil((err.retryAfter || 60) / 60)) }) };
  // The server's reasons for expired and revoked codes already say to ask for a new one.
  const advice = code === 'enrol_code_unknown' ? t('enrol.check_typing') : code === 'enrol_code_used' ? t('enrol.ask_new_code') : null;
  if (err.body?.message) return { code, text: pick(err.body.message), advice };
  return { code, text: t(err.kind === 'transient' ? 'enrol.offline' : 'enrol.bad_token') };
}

/** Store the token. A different person starts from a clean phone; a new token for the same
 *  person keeps the outbox under a fresh client id (a client id belongs to one token; the
 *  receipt series belong to the device id, so queued receipts stay valid). `byCode` (a code or
 *  sign-up, not the recovery token): the lock policy applies to this phone (meta `pin_due`);
 *  whether a PIN is asked for is `pinAsked` (the stations' `pin_required`, pin.js). */
export async function keep(token, me, { byCode = false } = {}) {
  const db = await openStore();
  const [oldMe, oldToken, clientId] = await Promise.all([
    db.get('meta', 'me'), db.get('meta', 'token'), db.get('meta', 'client_id'),
  ]);
  const other = oldMe && oldMe.user !== me.user;
  if (other) await forgetAll();
  if (!clientId || oldToken !== token || other) await rekey(db, 'enrol');
  const tx = db.transaction('meta', 'readwrite');
  await tx.store.put(token, 'token');
  await tx.store.put(me, 'me');
  for (const name of ['sync_state', 'retry_at', 'last_error', 'notice', 'sign_out_requested']) await tx.store.put(null, name);
  const pin = await tx.store.get('pin');
  await tx.store.put(byCode || null, 'pin_due');
  await tx.done;
  resetPinPolicy();
  if (!pin) unlock(); // nothing to unlock with yet; a PIN set next keeps this tab open
}
