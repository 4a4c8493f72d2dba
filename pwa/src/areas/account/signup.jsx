// Volunteer sign-up from a station's poster (#/signup?code=…): the station's name, name and
// phone number, a short privacy notice that must be agreed, then POST /api/v1/signup makes
// the person, their volunteer membership and profile, and this phone's token.
import { useEffect, useState } from 'preact/hooks';
import { getLang, t } from '../../i18n.js';
import { go } from '../../router.js';
import { refresh, runner } from '../../state.js';
import { signUp, signupStation } from './api.js';
import { deviceId, keepDeviceId, proposeName } from './device.js';
import { Message, ReplaceQuestion, currentPerson, keep, refusal } from './enrol.jsx';

const PHONE = /^\+?[0-9][0-9-]{2,19}$/;

export function SignupScreen({ app, query }) {
  const [code] = useState(() => query?.get('code') || '');
  const person = currentPerson(app.meta);
  const [confirmed, setConfirmed] = useState(false);
  const [station, setStation] = useState(null);
  const [name, setName] = useState('');
  const [phone, setPhone] = useState('');
  const [agreed, setAgreed] = useState(false);
  const [errors, setErrors] = useState({});
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (query?.get('code')) history.replaceState(null, '', '#/signup');
    if (!code) return;
    signupStation(code).then((answer) => setStation(answer.station)).catch((err) => setMessage({ make: () => refusal(err) }));
  }, []);

  async function submit(e) {
    e.preventDefault();
    const found = {};
    if (!name.trim() || name.trim().length > 64) found.name = t('signup.name_bad');
    if (!PHONE.test(phone.trim())) found.phone = t('signup.phone_bad');
    if (!agreed) found.consent = t('signup.must_agree');
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    setMessage({ text: t('enrol.checking') });
    try {
      const answer = await signUp({ code, name: name.trim(), phone: phone.trim(), deviceName: proposeName(name.trim(), getLang()), deviceId: await deviceId() });
      await keepDeviceId(answer.device_id);
      await keep(answer.token, answer.me, { byCode: true });
      await refresh();
      runner.kick();
      runner.connectEvents();
      go('/hours', { replace: true });
    } catch (err) {
      setMessage({ make: () => refusal(err) }); // built in the language shown
    } finally {
      setBusy(false);
    }
  }

  if (person && !confirmed) {
    return (
      <main class="screen account">
        <ReplaceQuestion app={app} person={person} lost={0} busy={false} onGo={() => setConfirmed(true)} onCancel={() => go('/events', { replace: true })} />
      </main>
    );
  }
  return (
    <main class="screen account signup">
      <h1>{t('signup.title')}</h1>
      {station ? <p class="station-name" data-testid="signup-station"><span class="muted">{t('signup.station')}</span><br /><strong>{station.name}</strong></p>
        : !message && <p class="muted">{t('signup.loading')}</p>}
      {station && (
        <form onSubmit={submit} noValidate>
          <label for="su-name">{t('signup.name')}</label>
          <input id="su-name" name="name" autocomplete="name" maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} aria-invalid={errors.name ? 'true' : undefined} />
          {errors.name && <p class="field-error" data-testid="signup-error-name">{errors.name}</p>}
          <label for="su-phone">{t('signup.phone')}</label>
          <input id="su-phone" name="phone" type="tel" inputMode="tel" autocomplete="tel" maxLength={20} value={phone} onInput={(e) => setPhone(e.currentTarget.value)} aria-invalid={errors.phone ? 'true' : undefined} />
          {errors.phone && <p class="field-error" data-testid="signup-error-phone">{errors.phone}</p>}
          <section class="privacy" data-testid="signup-privacy">
            <h2>{t('signup.privacy_title')}</h2>
            <ul>
              <li>{t('signup.privacy_what')}</li>
              <li>{t('signup.privacy_why')}</li>
              <li>{t('signup.privacy_who')}</li>
              <li>{t('signup.privacy_erase')}</li>
            </ul>
          </section>
          <label class="check"><input type="checkbox" name="consent" checked={agreed} onChange={(e) => setAgreed(e.currentTarget.checked)} data-testid="signup-consent" />{t('signup.agree')}</label>
          {errors.consent && <p class="field-error" data-testid="signup-error-consent">{errors.consent}</p>}
          <button class="primary block" type="submit" disabled={busy}>{t('signup.submit')}</button>
        </form>
      )}
      <Message message={message} />
    </main>
  );
}
