// The Me screen's account part: the app lock (set, change, lock now) and signing out, which
// sends everything first and warns when something could not be delivered.
import { useEffect, useRef, useState } from 'preact/hooks';
import { pick, t } from '../../i18n.js';
import { lockNow } from './pin.js';
import { signOut } from './lifecycle.js';

export function AppLockSection({ app }) {
  const on = !!app.meta.pin;
  return (
    <>
      <h2>{t('me.lock')}</h2>
      <p data-testid="me-lock">{t(on ? 'me.lock_on' : 'me.lock_off')}</p>
      <div class="row">
        <a class="button" href="#/me/pin" data-testid="me-pin">{t(on ? 'me.lock_change' : 'me.lock_set')}</a>
        {on && <button type="button" onClick={lockNow} data-testid="me-lock-now">{t('me.lock_now')}</button>}
      </div>
    </>
  );
}

export function SignOutSection({ app }) {
  const [state, setState] = useState(null); // null | {asking} | {busy} | {left, error}
  const choices = useRef(null);
  // The warning and its two choices, in view above the tabs (they were below the fold).
  useEffect(() => { if (state?.left > 0) choices.current?.scrollIntoView({ block: 'nearest' }); }, [state?.left]);
  async function run(force) {
    setState({ busy: true });
    const result = await signOut({ force });
    if (!result.done) setState(result);
  }
  return (
    <section class="signout" data-testid="signout">
      <h2>{t('me.signout_title')}</h2>
      <p class="muted">{t('me.signout_help')}</p>
      {state?.busy && <p role="status">{t('me.signout_sending')}</p>}
      {state?.left > 0 && (
        <p class="bad" role="alert" data-testid="signout-left">{t('me.signout_left', { n: state.left, msg: state.error ? pick(state.error.message) : '' })}</p>
      )}
      {state?.asking ? (
        <div class="row">
          <button type="button" class="danger" onClick={() => run(false)} data-testid="signout-confirm">{t('me.signout_confirm')}</button>
          <button type="button" onClick={() => setState(null)}>{t('pin.cancel')}</button>
        </div>
      ) : state?.left > 0 ? (
        <>
          <button type="button" class="primary block" onClick={() => run(false)}>{t('me.signout_retry')}</button>
          <button type="button" class="danger block" ref={choices} onClick={() => run(true)} data-testid="signout-force">{t('me.signout_force', { n: state.left })}</button>
        </>
      ) : (
        <button type="button" class="danger block" disabled={state?.busy} onClick={() => setState({ asking: true })} data-testid="signout-button">{t('me.unenrol')}</button>
      )}
    </section>
  );
}
