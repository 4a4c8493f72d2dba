// Who this phone is enrolled as, the language, storage, a QR code to open the app on
// another phone (the QR library is loaded only when asked for), and signing out.
import { useEffect, useState } from 'preact/hooks';
import { getLang, setLang, t } from '../i18n.js';
import { AppLockSection, SignOutSection } from '../areas/account/index.js';
import { PushSettings } from '../areas/notify/push_settings.jsx';
import { VolunteerQr } from '../areas/timebank/qr.jsx';
import { TrainingSummary } from '../areas/training/list.jsx';

export function Me({ app }) {
  const me = app.meta.me || {};
  const [persisted, setPersisted] = useState(null);
  const [qr, setQr] = useState('');
  const [update, setUpdate] = useState(null);
  useEffect(() => {
    navigator.storage?.persisted?.().then(setPersisted).catch(() => setPersisted(false));
    const offer = (e) => setUpdate(e.detail);
    addEventListener('charity-update', offer);
    navigator.serviceWorker?.getRegistration().then((r) => r?.waiting && setUpdate(r));
    return () => removeEventListener('charity-update', offer);
  }, []);

  async function showQr() {
    const { renderSVG } = await import('uqr');
    setQr(renderSVG(location.origin + '/', { border: 2 }));
  }

  function applyUpdate() {
    update?.waiting?.postMessage({ type: 'SKIP_WAITING' });
    navigator.serviceWorker.addEventListener('controllerchange', () => location.reload());
  }

  return (
    <main class="screen me">
      <h1>{t('me.title')}</h1>
      {update && <button type="button" class="primary block" onClick={applyUpdate}>{t('me.update')}</button>}
      <dl>
        {me.name && me.name !== me.user && <><dt>{t('me.name')}</dt><dd data-testid="me-name">{me.name}</dd></>}
        {/* a person made in the console or by sign-up has a UUID for an id: it means nothing to them */}
        {!/^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(me.user) && <><dt>{t('me.user')}</dt><dd data-testid="me-user">{me.user}</dd></>}
        <dt>{t('me.role')}</dt><dd>{t(`role.${me.role}`)}</dd>
        {me.station && <><dt>{t('me.station')}</dt><dd>{app.view.station.get(me.station)?.name || me.station} ({me.station})</dd></>}
        {me.district && <><dt>{t('me.district')}</dt><dd>{me.district}</dd></>}
        <dt>{t('me.storage')}</dt><dd>{persisted === null ? '…' : t(persisted ? 'me.storage_persisted' : 'me.storage_best_effort')}</dd>
        <dt>{t('me.device')}</dt><dd class="muted mono">{app.meta.client_id}</dd>
      </dl>
      <h2>{t('me.language')}</h2>
      <div class="row segmented">
        <button type="button" class={getLang() === 'zh' ? 'primary' : ''} onClick={() => setLang('zh')}>中文</button>
        <button type="button" class={getLang() === 'en' ? 'primary' : ''} onClick={() => setLang('en')}>English</button>
      </div>
      <PushSettings app={app} />
      <VolunteerQr app={app} />
      <TrainingSummary app={app} />
      <h2>{t('me.share')}</h2>
      {qr ? <div class="qr" dangerouslySetInnerHTML={{ __html: qr }} /> : <button type="button" onClick={showQr}>{t('me.show_qr')}</button>}
      <AppLockSection app={app} />
      <hr />
      <SignOutSection app={app} />
    </main>
  );
}
