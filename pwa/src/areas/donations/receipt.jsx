// The receipt, shown at once after saving (also offline): number, verification code, amount,
// donor, and a QR code (uqr, a lazy chunk) for /public/receipts/{number}?code={code} on the
// server's origin. A reprint goes through receipt.reprint and is marked 副本 / COPY.
import { useEffect, useState } from 'preact/hooks';
import { pick, t } from '../../i18n.js';
import { act } from '../../state.js';
import { correctionsByDonation, currentOf, donorLabel, madeAt, yuan } from './model.js';
import { dateTimeOf } from '../../ui/format.js';
import { configValue } from '../../config.js';

export function receiptUrl(receipt) {
  return `${location.origin}/public/receipts/${encodeURIComponent(receipt.number)}?code=${receipt.code}`;
}

export function QrCode({ text, testid = 'receipt-qr' }) {
  const [svg, setSvg] = useState('');
  useEffect(() => {
    let live = true;
    import('uqr').then(({ renderSVG }) => live && setSvg(renderSVG(text, { border: 1 })));
    return () => { live = false; };
  }, [text]);
  return <div class="qr receipt-qr" data-testid={testid} dangerouslySetInnerHTML={{ __html: svg }} />;
}

export function ReceiptScreen({ app, params, query }) {
  const [number] = params;
  const receipt = app.view.receipt.get(number);
  const [copy, setCopy] = useState(query.get('copy') === '1');
  if (!receipt) return <main class="screen"><p>{t('rcpt.missing')}</p><a class="button" href="#/donations">{t('don.back')}</a></main>;
  const donation = app.view.donation.get(receipt.donation_id);
  const now = donation ? currentOf(donation, correctionsByDonation(app.view).get(donation.id)) : null;
  const event = donation?.event_id && app.view.event.get(donation.event_id);
  const station = app.view.station.get(receipt.station);
  async function reprint() {
    await act('receipt.reprint', { number });
    setCopy(true);
    scrollTo(0, 0); // the COPY mark is at the top
  }
  const fresh = query.get('new') === '1';
  // 募用分离: the station collects, the federation holds (a server setting, client-config)
  // the organisation whose fundraising plan the gift was collected under holds the money
  const campaign = donation?.campaign ? app.view.campaign?.get(donation.campaign) : null;
  const holder = campaign ? campaign.organisation : pick(configValue(app.meta, 'receipt_holder'));
  return (
    <main class="screen receipt-screen">
      <a class="back" href="#/donations">‹ {t('don.back')}</a>
      <article class={`receipt status-${receipt.status}`} data-testid="receipt">
        {copy && <div class="copy-mark" data-testid="receipt-copy">{t('rcpt.copy')}</div>}
        <h1>{t('rcpt.title')}</h1>
        <div class="receipt-amount" data-testid="receipt-amount">¥{yuan(now ? now.amount : 0)}</div>
        <div class="receipt-ids">
          <div><span class="muted">{t('rcpt.number')}</span><strong class="mono" data-testid="receipt-number">{receipt.number}</strong></div>
          <div><span class="muted">{t('rcpt.code')}</span><strong class="mono" data-testid="receipt-code">{receipt.code}</strong></div>
        </div>
        {receipt.status !== 'issued' && <p class="bad center" data-testid="receipt-status">{t(`rcpt.status.${receipt.status}`)}</p>}
        <QrCode text={receiptUrl(receipt)} />
        <p class="muted small-note">{t('rcpt.scan')}</p>
        {fresh && <p class="thanks">{t('rcpt.thanks')}</p>}
        <dl>
          {donation && <><dt>{t('don.donor')}</dt><dd>{donorLabel(donation, t('donor.anonymous'))}</dd></>}
          {donation?.kind === 'goods' && <><dt>{t('don.items')}</dt><dd>{donation.items.map((i) => `${i.name} ×${i.quantity}${i.unit}`).join('、')}</dd></>}
          {donation?.kind === 'money' && <><dt>{t('don.method')}</dt><dd>{t(`method.${donation.method}`)}</dd></>}
          <dt>{t('don.station')}</dt><dd>{station?.name || receipt.station}{event ? ` · ${event.title}` : ''}</dd>
          <dt>{t('don.time')}</dt><dd data-testid="receipt-time">{dateTimeOf(donation ? madeAt(donation) : receipt.issued_at)}</dd>
          <dt>{t('rcpt.holder')}</dt><dd data-testid="receipt-holder">{holder}</dd>
          {campaign && <><dt>{t('rcpt.campaign')}</dt><dd data-testid="receipt-campaign">{campaign.name} · <span class="nowrap">{t('rcpt.filing')}</span> <span class="mono whole">{campaign.filing_number}</span></dd></>}
          {receipt.official_number && <><dt>{t('rcpt.official')}</dt><dd class="mono">{receipt.official_number}</dd></>}
        </dl>
        <p class="muted small-note official-note" data-testid="receipt-official-note">{t('rcpt.official_note', { holder })}</p>
        {receipt.pending && <p class="tag pending">{t('events.pending')}</p>}
      </article>
      <div class="actions">
        {receipt.status === 'issued' && <button type="button" onClick={reprint} data-testid="reprint">{t('rcpt.reprint')}</button>}
        <button type="button" onClick={() => print()}>{t('rcpt.print')}</button>
      </div>
      {receipt.reprints > 0 && <p class="muted">{t('rcpt.reprints', { n: receipt.reprints })}</p>}
      <div class="actions">
        <a class="button primary" href={`#/donations/new/${donation?.kind || 'money'}${donation?.event_id ? `?event=${donation.event_id}` : ''}`} data-testid="next-donation">{t('rcpt.new_donation')}</a>
        {donation && <a class="button" href={`#/donations/d/${donation.id}`}>{t('rcpt.donation')}</a>}
      </div>
    </main>
  );
}
