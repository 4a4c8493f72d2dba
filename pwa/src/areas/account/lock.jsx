// The app lock's screens. The lock screen is rendered instead of the app (not over it), so
// nothing personal is in the page while it is locked: no name, no records, no sync bar.
import { useEffect, useState } from 'preact/hooks';
import { getLang, setLang, t } from '../../i18n.js';
import { go } from '../../router.js';
import { refresh } from '../../state.js';
import { checkPin, setPin, unlock, validPin } from './pin.js';
import { signOut } from './lifecycle.js';

function Bar() {
  return (
    <header class="topbar">
      <span class="brand"><img src="/icons/favicon-32.png" alt="" width="24" height="24" />{t('app.name')}</span>
      <button class="lang" type="button" onClick={() => setLang(getLang() === 'zh' ? 'en' : 'zh')}>{t('lang.switch')}</button>
    </header>
  );
}

export function LockScreen({ app }) {
  const [pin, setPinText] = useState('');
  const [message, setMessage] = useState('');
  const [until, setUntil] = useState(app.meta.pin_fail?.until || 0);
  const [busy, setBusy] = useState(false);
  const [forgot, setForgot] = useState(false);
  const [, tick] = useState(0);
  useEffect(() => {
    if (!until || until < Date.now()) return undefined;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [until]);
  const waitS = until > Date.now() ? Math.ceil((until - Date.now()) / 1000) : 0;

  async function submit(e) {
    e.preventDefault();
    if (busy || waitS) return;
    setBusy(true);
    setMessage(t('lock.checking'));
    const result = await checkPin(pin);
    setBusy(false);
    setPinText('');
    if (result.ok) { setMessage(''); unlock(); refresh(); return; }
    setUntil(result.until || 0);
    setMessage(result.waiting ? '' : t('lock.wrong', { n: result.fails }));
  }

  return (
    <div class="shell locked" data-testid="lock-screen">
      <Bar />
      <main class="screen lock">
        <svg class="lock-icon" viewBox="0 0 24 24" width="56" height="56" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
          <rect x="5" y="11" width="14" height="10" rx="2" /><path d="M8 11V7a4 4 0 0 1 8 0v4" /><path d="M12 15v2" />
        </svg>
        <h1>{t('lock.title')}</h1>
        <form onSubmit={submit}>
          <label for="pin">{t('lock.help')}</label>
          <input id="pin" name="pin" type="password" inputMode="numeric" autocomplete="off" pattern="[0-9]*" maxLength={8}
            class="pin" value={pin} onInput={(e) => setPinText(e.currentTarget.value.replace(/\D/g, ''))} autoFocus data-testid="lock-pin" />
          <button class="primary block" type="submit" disabled={busy || !!waitS || pin.length < 4} data-testid="lock-unlock">{t('lock.unlock')}</button>
        </form>
        {message && <p class="bad" role="alert" data-testid="lock-message">{message}</p>}
        {waitS > 0 && <p class="bad" role="alert" data-testid="lock-wait">{t('lock.wait', { s: waitS })}</p>}
        {forgot ? <Forgot onBack={() => setForgot(false)} /> : <button type="button" class="link-button" onClick={() => setForgot(true)} data-testid="lock-forgot">{t('lock.forgot')}</button>}
      </main>
    </div>
  );
}

/** "Forgot the PIN": deliver, sign out, enrol again. */
function Forgot({ onBack }) {
  const [state, setState] = useState(null);
  async function go_(force = false) {
    setState({ busy: true });
    const result = await signOut({ force });
    if (result.done) { unlock(); return; } // the enrol screen shows next
    setState(result);
  }
  return (
    <section class="card-block" data-testid="lock-forgot-panel">
      <p>{t('lock.forgot_help')}</p>
      {state?.left > 0 && <p class="bad">{t('me.signout_left', { n: state.left, msg: state.error?.message?.[getLang()] || '' })}</p>}
      <button type="button" class="danger block" disabled={state?.busy} onClick={() => go_(state?.left > 0)}>
        {state?.left > 0 ? t('me.signout_force', { n: state.left }) : t('lock.forgot_go')}
      </button>
      <button type="button" class="block" onClick={onBack}>{t('pin.cancel')}</button>
    </section>
  );
}

/** Set (first enrolment of staff and up: before anything else) or change the PIN. */
export function PinSetup({ app, first = false }) {
  const [pin, setPinText] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const required = first;
  async function submit(e) {
    e.preventDefault();
    if (!validPin(pin)) { setError(t('pin.bad')); return; }
    if (pin !== again) { setError(t('pin.mismatch')); return; }
    setBusy(true);
    await setPin(pin);
    unlock();
    await refresh();
    setBusy(false);
    if (!first) go('/me', { replace: true });
  }
  const body = (
    <main class="screen lock" data-testid="pin-setup">
      <h1>{t(app.meta.pin && !first ? 'pin.change_title' : 'pin.title')}</h1>
      <p class="muted">{t(required ? 'pin.help' : 'pin.help_optional')}</p>
      <form onSubmit={submit} noValidate>
        <label for="pin-new">{t('pin.new')}</label>
        <input id="pin-new" type="password" inputMode="numeric" pattern="[0-9]*" maxLength={8} autocomplete="new-password" class="pin"
          value={pin} onInput={(e) => setPinText(e.currentTarget.value.replace(/\D/g, ''))} data-testid="pin-new" />
        <label for="pin-again">{t('pin.again')}</label>
        <input id="pin-again" type="password" inputMode="numeric" pattern="[0-9]*" maxLength={8} autocomplete="new-password" class="pin"
          value={again} onInput={(e) => setAgain(e.currentTarget.value.replace(/\D/g, ''))} data-testid="pin-again" />
        {error && <p class="field-error" role="alert" data-testid="pin-error">{error}</p>}
        <button class="primary block" type="submit" disabled={busy} data-testid="pin-save">{t('pin.save')}</button>
        {!first && <a class="button block" href="#/me">{t('pin.cancel')}</a>}
      </form>
    </main>
  );
  return first ? <div class="shell"><Bar />{body}</div> : body;
}

export function PinRoute({ app }) {
  return <PinSetup app={app} />;
}
