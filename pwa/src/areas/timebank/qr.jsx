// The volunteer's own code for the Me screen: a QR of the link that opens the staff
// check-in with this volunteer's signed code (hours.check_in@2 `volunteer_code`). The
// server signs it and it expires (docs/timebank.md, "Volunteer codes"): the phone gets
// one with /api/v1/me at every start and a fresh one here whenever online, and shows
// the last one it received when offline.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { refresh } from '../../state.js';
import { request } from '../../sync/engine.js';
import { setMeta } from '../../sync/store.js';
import { timeOf } from '../../ui/format.js';
import { volunteerCodeUrl } from './common.js';

/** The newest code this phone holds: from the last /me, or the last fetched here. */
function latest(meta) {
  const held = [meta.volunteer_code, meta.me?.volunteer_code].filter((c) => c && c.user_id === meta.me?.user);
  return held.sort((a, b) => (a.issued_at < b.issued_at ? 1 : -1))[0] || null;
}

export function VolunteerQr({ app }) {
  const me = app.meta.me || {};
  const [svg, setSvg] = useState('');
  const [shown, setShown] = useState(false);
  const code = latest(app.meta);
  const isVolunteer = me.user && app.view.volunteer.get(me.user);

  useEffect(() => {
    if (!isVolunteer || !navigator.onLine || !app.meta.token) return;
    request('GET', '/api/v1/timebank/volunteer-code', app.meta.token)
      .then((fresh) => setMeta('volunteer_code', fresh)).then(refresh)
      .catch(() => { /* offline or not yet registered: the last code stays */ });
  }, [isVolunteer, shown]);

  useEffect(() => {
    if (!shown || !code) return;
    import('uqr').then(({ renderSVG }) => setSvg(renderSVG(volunteerCodeUrl(location.origin, code.code), { border: 2 })));
  }, [shown, code?.code]);

  if (!isVolunteer) return null;
  const expired = code && Date.parse(code.expires_at) <= Date.now();
  return (
    <section data-testid="volunteer-qr" data-volunteer={me.user}>
      <h2>{t('me.volunteer_qr')}</h2>
      {!shown && <button type="button" class="block" onClick={() => setShown(true)} data-testid="show-volunteer-qr">{t('me.volunteer_qr_show')}</button>}
      {shown && !code && <p class="notice" data-testid="volunteer-qr-missing">{t('me.volunteer_qr_missing')}</p>}
      {shown && code && (
        <>
          {svg && <div class="qr" dangerouslySetInnerHTML={{ __html: svg }} />}
          <p class="mono">{me.user}</p>
          <p class={expired ? 'bad' : 'muted fine'} data-testid="volunteer-qr-expiry">
            {expired ? t('me.volunteer_qr_expired') : t('me.volunteer_qr_until', { when: timeOf(code.expires_at) })}
          </p>
        </>
      )}
    </section>
  );
}
