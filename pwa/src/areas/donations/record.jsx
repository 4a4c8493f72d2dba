// Record a gift in a few taps: money (amount chips, method) or goods (items); the donor
// (anonymous by default: one tap less); receipt wanted (numbered from this phone's series,
// offline) or waived; direction. Saving queues donation.record and opens the receipt.
import { useState } from 'preact/hooks';
import { both, t } from '../../i18n.js';
import { checkArgs, useDraft, useSubmit } from '../../ui/forms.js';
import { DraftNote, FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { PhotoPicker } from '../../ui/photos.jsx';
import { configValue } from '../../config.js';
import { go } from '../../router.js';
import { act } from '../../state.js';
import { parseYuan, yuan } from './model.js';
import { currentSeries, nextReceipt } from './series.js';
import { useSelection } from './home.jsx';
import { openCampaigns, raisesFor } from './campaigns.js';
import { defaultFund } from './overlay.js';

const CHIPS = [1000, 5000, 10000, 20000, 50000];
const METHODS = ['wechat_pay', 'alipay', 'cash', 'bank_transfer', 'other'];
const PHONE = /^\+?[0-9 -]{5,20}$/;

function Segmented({ name, value, options, onChange }) {
  return (
    <div class="segmented row" role="radiogroup" data-testid={`seg-${name}`}>
      {options.map(([key, label]) => (
        <button type="button" key={key} role="radio" aria-checked={value === key} class={value === key ? 'on' : ''}
          onClick={() => onChange(key)} data-value={key}>{label}</button>
      ))}
    </div>
  );
}

/** The amount from which a money gift asks to confirm it: the station's large-donation
 *  line when it set one, else the server's (client-config), else its default. */
export function largeLine(app, station) {
  const own = app.view.alert_threshold?.get(`large_donation:${station}`)?.amount_fen;
  return own ?? configValue(app.meta, 'large_donation_fen');
}

const emptyItem = () => ({ name: '', quantity: '1', unit: '件', value: '' });
const blankForm = () => ({
  amount: '', method: 'wechat_pay', items: [emptyItem()], donorKind: 'anonymous', name: '', organisation: '',
  phone: '', wantsReceipt: true, consent: false, direction: 'undirected', target: '', note: '', photos: [], campaign: '',
});

export function DonationForm({ app, params, query }) {
  const kind = params[0] === 'goods' ? 'goods' : 'money';
  const pick = useSelection(app);
  const eventId = query.get('event') || pick.event?.id || null;
  const series = currentSeries(app);
  const [f, setF] = useState(blankForm);
  const form = useSubmit();
  const draft = useDraft(app.meta.me, `donation.${kind}`, f, setF, blankForm());
  const [confirming, setConfirming] = useState(null); // the args waiting for "confirm the amount"
  const set = (patch) => { setF({ ...f, ...patch }); setConfirming(null); form.clear(); };
  const input = (name) => (e) => set({ [name]: e.currentTarget.value });
  const funds = [...app.view.fund.values()].filter((fund) => !fund.district || fund.district === app.view.station.get(pick.station)?.district);
  const projects = [...app.view.project.values()].filter((p) => funds.some((fund) => fund.id === p.fund_id));
  const setItem = (i, patch) => set({ items: f.items.map((item, j) => (j === i ? { ...item, ...patch } : item)) });
  const wantsReceipt = f.wantsReceipt && !!series;
  const line = largeLine(app, pick.station);
  const photoLine = configValue(app.meta, 'goods_photo_line_fen');
  // the public fundraising plan the gift is collected under: the event's, else the one open here
  const station = app.view.station.get(pick.station);
  const event = eventId ? app.view.event.get(eventId) : null;
  // only those raising for the gift's fund (an undirected gift: the fund that takes it)
  const giftFund = f.direction === 'fund' ? f.target || null
    : f.direction === 'project' ? app.view.project.get(f.target)?.fund_id ?? null
      : defaultFund(app.view, station);
  const openHere = openCampaigns(app.view, station);
  const campaigns = openHere.filter((c) => raisesFor(c, giftFund, f.direction === 'project' ? f.target || null : null));
  const campaignId = (f.campaign && campaigns.some((c) => c.id === f.campaign) && f.campaign)
    || (event?.campaign && campaigns.some((c) => c.id === event.campaign) ? event.campaign : '')
    || (campaigns.length === 1 ? campaigns[0].id : '');
  const campaign = campaignId ? app.view.campaign.get(campaignId) : null;
  // no campaign this gift could go to: the notice says why and saving waits for one
  const noCampaign = campaigns.length === 0;

  /** The args of this form, or a message; the amount as typed (a number the schema judges). */
  function argsOf(intent) {
    const args = { id: intent.id, station: pick.station, kind, event_id: eventId, direction: f.direction, note: f.note.trim() };
    if (kind === 'money') {
      const fen = parseYuan(f.amount);
      if (fen === null) return { fields: { amount_fen: both('don.bad_amount') } };
      Object.assign(args, { amount_fen: fen, method: f.method });
    } else {
      const items = [];
      for (const item of f.items) {
        const quantity = Number(item.quantity);
        const value = item.value.trim() ? parseYuan(item.value) : 0;
        if (!item.name.trim() || !Number.isInteger(quantity) || quantity < 1 || !item.unit.trim() || value === null) return { error: t('don.bad_item') };
        items.push({ name: item.name.trim(), quantity, unit: item.unit.trim(), estimated_value_fen: value });
      }
      args.items = items;
      const photos = f.photos || [];
      // the server refuses goods valued above the line without a photo of them: say so here
      if (!photos.length && items.reduce((sum, item) => sum + item.estimated_value_fen, 0) > photoLine) return { error: t('don.photo_needed', { line: yuan(photoLine) }) };
      args.attachments = photos;
    }
    const anonymous = f.donorKind === 'anonymous';
    const name = f.donorKind === 'person' ? f.name.trim() : '';
    const organisation = f.donorKind === 'organisation' ? f.organisation.trim() : '';
    if (!anonymous && !name && !organisation) return { error: t('don.need_donor') };
    const phone = anonymous ? '' : f.phone.trim();
    if (phone && !PHONE.test(phone)) return { error: t('form.bad_phone') };
    if (f.wantsReceipt && !series) return { error: t('don.no_series') };
    args.donor = {
      anonymous, name: name || null, organisation: organisation || null, phone: phone || null,
      wants_receipt: f.wantsReceipt, public_name_consent: !anonymous && f.consent,
    };
    if (f.direction !== 'undirected') {
      if (!f.target) return { error: t('don.need_fund') };
      args[f.direction === 'fund' ? 'fund_id' : 'project_id'] = f.target;
    }
    if (!campaignId) return { error: t(campaigns.length ? 'don.choose_campaign' : openHere.length ? 'don.campaign_not_for_fund' : 'don.no_campaign') };
    args.campaign = campaignId;
    args.receipt = null;
    return { args };
  }

  function save(e, confirmed = false) {
    e?.preventDefault();
    return form.run(async (intent) => {
      const { args, error, fields } = argsOf(intent);
      if (fields) return form.showFields(fields);
      if (error) return form.fail(error);
      // the server's schema first, before a receipt number is taken from the series
      const refused = await checkArgs('donation.record', args);
      if (refused) return form.showFields(refused);
      if (kind === 'money' && args.amount_fen >= line && !confirmed) { setConfirming(args); return false; }
      setConfirming(null);
      // one receipt number per intent: a retry after a refusal reuses it
      if (f.wantsReceipt) intent.extra.receipt ||= await nextReceipt(app.view, app.meta.client_id);
      args.receipt = f.wantsReceipt ? intent.extra.receipt : null;
      if (f.wantsReceipt && !args.receipt) return form.fail(t('don.no_series'));
      await act('donation.record', args, 1, { key: intent.key });
      await draft.done();
      go(args.receipt ? `/receipts/${args.receipt.number}?new=1` : `/donations/d/${args.id}`, { replace: true });
      return true;
    });
  }

  const goodsTotal = f.items.reduce((sum, item) => sum + (parseYuan(item.value) || 0), 0);
  return (
    <main class="screen form donation-form">
      <a class="back" href="#/donations">‹ {t('event.cancel')}</a>
      <h1>{t(kind === 'goods' ? 'don.new_goods' : 'don.new_money').replace('+ ', '')} · {pick.event?.title || t('don.no_event')}</h1>
      <DraftNote draft={draft} />
      <form onSubmit={save} data-testid="donation-form">
        {kind === 'money' ? (
          <>
            <label>{t('don.amount')}
              <input class="amount" name="amount" inputMode="decimal" autoComplete="off" value={f.amount} onInput={input('amount')} placeholder="0.00"
                aria-invalid={!!form.fields?.amount_fen} />
            </label>
            <FieldError fields={form.fields} path="amount_fen" />
            <div class="chips row">
              {CHIPS.map((fen) => <button type="button" key={fen} class={parseYuan(f.amount) === fen ? 'on' : ''} onClick={() => set({ amount: String(fen / 100) })}>{fen / 100}</button>)}
            </div>
            <div class="field-label">{t('don.method')}</div>
            <Segmented name="method" value={f.method} onChange={(method) => set({ method })} options={METHODS.map((m) => [m, t(`method.${m}`)])} />
          </>
        ) : (
          <fieldset class="items">
            <legend>{t('don.items')}{goodsTotal > 0 && ` · ¥${yuan(goodsTotal)}`}</legend>
            {f.items.map((item, i) => (
              <div class="item" key={i} data-testid="goods-item">
                <input name={`item-name-${i}`} placeholder={t('don.item_name')} aria-label={t('don.item_name')} value={item.name} onInput={(e) => setItem(i, { name: e.currentTarget.value })} maxLength={100} />
                <div class="row">
                  <label class="mini qty">{t('don.quantity')}<input name={`item-qty-${i}`} inputMode="numeric" value={item.quantity} onInput={(e) => setItem(i, { quantity: e.currentTarget.value })} /></label>
                  <label class="mini unit">{t('don.unit')}<input name={`item-unit-${i}`} value={item.unit} onInput={(e) => setItem(i, { unit: e.currentTarget.value })} maxLength={16} /></label>
                  <label class="mini">{t('don.value')}<input name={`item-value-${i}`} inputMode="decimal" placeholder="0" value={item.value} onInput={(e) => setItem(i, { value: e.currentTarget.value })} /></label>
                </div>
                <FieldError fields={form.fields} path={`items.${i}`} />
                {f.items.length > 1 && <button type="button" class="small remove" onClick={() => set({ items: f.items.filter((_, j) => j !== i) })}>{t('don.remove_item')}</button>}
              </div>
            ))}
            <FieldError fields={form.fields} path="items" />
            <button type="button" class="small" onClick={() => set({ items: [...f.items, emptyItem()] })} data-testid="add-item">{t('don.add_item')}</button>
          </fieldset>
        )}
        {kind === 'goods' && (
          <PhotoPicker app={app} value={f.photos || []} onChange={(photos) => set({ photos })} kind="photo" label={t('don.goods_photos')}
            testid="goods-photos" maxBytes={configValue(app.meta, 'file_max_bytes')}
            hint={goodsTotal > photoLine && !(f.photos || []).length
              ? <p class="photo-needed" role="status" data-testid="photo-needed">{t('don.photo_needed', { line: yuan(photoLine) })}</p> : null} />
        )}
        <div class="field-label">{t('don.donor')}</div>
        <Segmented name="donor" value={f.donorKind} onChange={(donorKind) => set({ donorKind })}
          options={[['anonymous', t('donor.anonymous')], ['person', t('donor.person')], ['organisation', t('donor.organisation')]]} />
        {f.donorKind === 'person' && <label>{t('don.donor_name')}<input name="donor-name" value={f.name} onInput={input('name')} maxLength={100} /></label>}
        <FieldError fields={form.fields} path="donor.name" />
        {f.donorKind === 'organisation' && <label>{t('don.donor_org')}<input name="donor-org" value={f.organisation} onInput={input('organisation')} maxLength={100} /></label>}
        <FieldError fields={form.fields} path="donor.organisation" />
        {f.donorKind !== 'anonymous' && (
          <>
            <label>{t('don.donor_phone')}<input name="donor-phone" type="tel" inputMode="tel" value={f.phone} onInput={input('phone')} maxLength={20} /></label>
            <FieldError fields={form.fields} path="donor.phone" />
            <label class="check"><input type="checkbox" name="consent" checked={f.consent} onChange={(e) => set({ consent: e.currentTarget.checked })} />{t('don.consent')}</label>
          </>
        )}
        <label class="check"><input type="checkbox" name="wants-receipt" checked={f.wantsReceipt} onChange={(e) => set({ wantsReceipt: e.currentTarget.checked })} />{t('don.wants_receipt')}
          {series && <span class="muted"> · {t('don.series', { code: series.code })}</span>}</label>
        {f.wantsReceipt && !series && <p class="notice" data-testid="no-series">{t('don.no_series')}</p>}
        <details class="more-fields" open={f.direction !== 'undirected' || !!f.note || !!form.fields?.note}>
          <summary>{t('don.direction')}: {t(`dir.${f.direction}`)} · {t('don.note')}</summary>
          <Segmented name="direction" value={f.direction} onChange={(direction) => set({ direction, target: '' })}
            options={['undirected', 'fund', 'project'].map((d) => [d, t(`dir.${d}`)])} />
          {f.direction !== 'undirected' && ((f.direction === 'fund' ? funds : projects).length ? (
            <select name="target" value={f.target} onChange={input('target')}>
              <option value="">{t(f.direction === 'fund' ? 'don.choose_fund' : 'don.choose_project')}</option>
              {(f.direction === 'fund' ? funds : projects).map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
            </select>
          ) : <p class="muted">{t('don.no_funds')}</p>)}
          <label>{t('don.note')}<input name="note" value={f.note} onInput={input('note')} /></label>
          <FieldError fields={form.fields} path="note" />
        </details>
        {campaigns.length > 1 ? (
          <label>{t('don.campaign')}
            <select name="campaign" value={campaignId} onChange={input('campaign')} data-testid="campaign-select">
              {!campaignId && <option value="">{t('don.choose_campaign')}</option>}
              {campaigns.map((c) => <option key={c.id} value={c.id}>{c.name} · {c.organisation}</option>)}
            </select>
          </label>
        ) : campaign ? (
          <p class="muted campaign-line" data-testid="campaign-line">{t('don.campaign')}: {campaign.name} · {campaign.organisation}</p>
        ) : null}
        <FormStatus form={form} shown={['amount_fen', 'items', 'donor.name', 'donor.organisation', 'donor.phone', 'note']} />
        {!app.online && <p class="muted">{t('don.offline_saved')}</p>}
        <div class="sticky-save">
          {confirming ? (
            <div class="confirm-amount" role="alertdialog" aria-labelledby="confirm-amount-title" data-testid="confirm-amount">
              <p id="confirm-amount-title">{t('don.confirm_large', { line: yuan(line) })}</p>
              <p class="confirm-figure" data-testid="confirm-figure">¥{yuan(confirming.amount_fen)}</p>
              <div class="row">
                <button type="button" class="block" onClick={() => setConfirming(null)} data-testid="confirm-back">{t('don.confirm_back')}</button>
                <button type="button" class="primary block" disabled={form.saving} onClick={() => save(null, true)} data-testid="confirm-save">{t('don.confirm_save')}</button>
              </div>
            </div>
          ) : (
            <>
              {/* beside the button it holds back, so the reason is in view with it */}
              {noCampaign && <p class="notice" id="no-campaign" data-testid="no-campaign">{t(openHere.length ? 'don.campaign_not_for_fund' : 'don.no_campaign')}</p>}
              <SaveButton form={form} class="primary block big" testid="save-donation" label={t(wantsReceipt ? 'don.save' : 'don.save_no_receipt')}
                disabled={form.saving || noCampaign} aria-describedby={noCampaign ? 'no-campaign' : undefined} />
            </>
          )}
        </div>
      </form>
    </main>
  );
}
