// The volunteer's own code for the Me screen: a QR of the link that opens the staff
// check-in with this volunteer's id filled in (what hours.check_in needs as volunteer_id).
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { volunteerCodeUrl } from './common.js';

export function VolunteerQr({ app }) {
  const me = app.meta.me || {};
  const [svg, setSvg] = useState('');
  if (!me.user || !app.view.volunteer.get(me.user)) return null;
  async function show() {
    const { renderSVG } = await import('uqr');
    setSvg(renderSVG(volunteerCodeUrl(location.origin, me.user), { border: 2 }));
  }
  return (
    <section data-testid="volunteer-qr" data-volunteer={me.user}>
      <h2>{t('me.volunteer_qr')}</h2>
      {svg
        ? <><div class="qr" dangerouslySetInnerHTML={{ __html: svg }} /><p class="mono">{me.user}</p></>
        : <button type="button" class="block" onClick={show} data-testid="show-volunteer-qr">{t('me.volunteer_qr_show')}</button>}
    </section>
  );
}
