// The Time Bank of a station: the catalogue with its stock (restock by a delta so two
// phones add up; take an item off and back), new items (staff and up), and the credit
// rates per service type (managers).
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { configValue } from '../../config.js';
import { AttachmentList, PhotoPicker } from '../../ui/photos.jsx';
import { act } from '../../state.js';
import { newId } from '../../sync/ids.js';
import { baseFor } from '../../sync/local.js';
import { credits } from '../timebank/common.js';
import { rankAt } from './scope.js';
import { Console, Invalid, Pending, SaveForm, StationPicker, Status, required, savedText, useSaving, useStation } from './ui.jsx';

export const SERVICE_TYPES = ['elder_care', 'hardship_relief', 'orphan_care', 'disability_support', 'community_governance', 'event_support', 'training'];
export const DEFAULT_RATE_CENTS = 100;

/** "1.5" credits -> 150 credit cents; null when not a positive amount with up to 2 decimals. */
export function parseCredits(text, { zero = false } = {}) {
  const m = /^(\d{1,6})(?:\.(\d{1,2}))?$/.exec(String(text ?? '').trim());
  if (!m) return null;
  const cents = Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
  return cents > 0 || zero ? cents : null;
}

export function TimebankAdmin({ app }) {
  const me = app.meta.me;
  const view = app.view;
  const picked = useStation(app, 'staff');
  const station = picked.station;
  const items = station ? [...(view.redemption_item?.values() || [])].filter((i) => i.station === station.code)
    .sort((a, b) => (a.active === b.active ? (a.title < b.title ? -1 : 1) : a.active ? -1 : 1)) : [];
  const manager = station && rankAt(me, station.code, station.district) >= 2;
  const [picture, setPicture] = useState([]); // the new item's picture

  async function addItem({ title, kind, cost, stock, description }) {
    const cleanTitle = required(title, t('admin.item_title'));
    const cents = parseCredits(cost);
    if (!cents) throw new Invalid(t('admin.bad_credits'));
    let count = null;
    if (kind === 'goods') {
      if (!/^\d{1,6}$/.test(String(stock || '').trim())) throw new Invalid(t('admin.bad_stock'));
      count = Number(stock);
    }
    await act('catalogue.add', { id: newId(), station: station.code, title: cleanTitle, kind, cost_cents: cents, stock: count, description: description || '', attachments: picture });
    setPicture([]);
    return savedText(cleanTitle);
  }
  async function setRate({ service_type, rate }) {
    const cents = parseCredits(rate, { zero: true });
    if (cents === null || cents > 10000) throw new Invalid(t('admin.bad_rate'));
    await act('timebank.set_rate', { station: station.code, service_type, rate_cents: cents });
    return savedText(`${t(`service.${service_type}`)} ${credits(cents)}`);
  }
  return (
    <Console app={app} section="timebank">
      <StationPicker picked={picked} />
      {station && (
        <div class="console-cols">
          <section>
            <h2>{t('admin.catalogue', { n: items.length })}</h2>
            {items.length === 0 && <p class="muted">{t('admin.none')}</p>}
            <ul class="plain">{items.map((item) => <ItemRow key={item.id} item={item} app={app} />)}</ul>
            <SaveForm id="item-form" title={t('admin.new_item')} submit={t('admin.create')} onSave={addItem} folded>
              <label>{t('admin.item_title')}<input name="title" maxLength={200} /></label>
              <label>{t('admin.item_kind')}
                <select name="kind"><option value="goods">{t('admin.kind.goods')}</option><option value="service">{t('admin.kind.service')}</option></select>
              </label>
              <div class="row">
                <label>{t('admin.item_cost')}<input name="cost" inputmode="decimal" placeholder="1" /></label>
                <label>{t('admin.item_stock')}<input name="stock" inputmode="numeric" placeholder="10" /></label>
              </div>
              <p class="muted fine">{t('admin.item_stock_help')}</p>
              <label>{t('admin.description')}<input name="description" maxLength={500} /></label>
              <PhotoPicker app={app} value={picture} onChange={setPicture} max={1} label={t('admin.item_picture')} testid="item-picture"
                maxBytes={configValue(app.meta, 'file_max_bytes')} />
            </SaveForm>
          </section>
          <section>
            <h2>{t('admin.rates')}</h2>
            <table class="rates" data-testid="admin-rates">
              <tbody>
                {SERVICE_TYPES.map((type) => {
                  const rate = view.timebank_rate?.get(`${station.code}:${type}`);
                  return (
                    <tr key={type} data-testid="admin-rate" data-type={type} data-cents={rate ? rate.rate_cents : ''}>
                      <td>{t(`service.${type}`)}</td>
                      <td class="amount">{rate ? t('admin.per_hour', { n: credits(rate.rate_cents) }) : <span class="muted">{t('admin.default_rate', { n: credits(DEFAULT_RATE_CENTS) })}</span>} <Pending record={rate} /></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {manager && (
              <SaveForm id="rate-form" title={t('admin.set_rate')} submit={t('event.save')} onSave={setRate} folded>
                <label>{t('admin.service_type')}
                  <select name="service_type">{SERVICE_TYPES.map((type) => <option key={type} value={type}>{t(`service.${type}`)}</option>)}</select>
                </label>
                <label>{t('admin.rate')}<input name="rate" inputmode="decimal" placeholder="1" /></label>
              </SaveForm>
            )}
          </section>
        </div>
      )}
    </Console>
  );
}

function ItemRow({ item, app }) {
  const saving = useSaving();
  async function restock(e) {
    e.preventDefault();
    const form = e.currentTarget;
    const text = String(new FormData(form).get('delta') || '').trim();
    await saving.run(async () => {
      if (!/^-?\d{1,6}$/.test(text) || Number(text) === 0) throw new Invalid(t('admin.bad_delta'));
      const delta = Number(text);
      if (item.stock + delta < 0) throw new Invalid(t('admin.stock_below_zero', { n: item.stock }));
      await act('catalogue.restock', { id: item.id, delta });
      form.reset();
      return savedText(`${item.title} ${delta > 0 ? '+' : ''}${delta}`);
    });
  }
  const toggle = () => saving.run(async () => {
    const fields = { active: !item.active };
    await act('catalogue.update', { id: item.id, fields, base: baseFor(item, fields) });
    return savedText(item.title);
  });
  return (
    <li class={`item catalogue${item.active ? '' : ' inactive'}`} data-testid="admin-item" data-title={item.title} data-stock={item.stock ?? ''}>
      <div class="grow">
        <strong>{item.title}</strong> <Pending record={item} />
        <AttachmentList app={app} refs={item.attachments} testid="item-picture-shown" />
        <div class="muted fine">
          {t('bank.credits', { n: credits(item.cost_cents) })} · {item.stock === null ? t('admin.unlimited') : t('bank.stock', { n: item.stock })}
          {!item.active && ` · ${t('admin.inactive')}`}
        </div>
        {item.stock !== null && (
          <form class="row restock" onSubmit={restock}>
            <fieldset disabled={saving.busy} class="row">
              <input name="delta" inputmode="numeric" placeholder="+10 / -2" aria-label={t('admin.restock')} />
              <button type="submit" class="small" data-testid="restock">{t('admin.restock')}</button>
            </fieldset>
          </form>
        )}
        <Status saving={saving} id="item" />
      </div>
      <button type="button" class="small" disabled={saving.busy} onClick={toggle}>{item.active ? t('admin.deactivate') : t('admin.activate')}</button>
    </li>
  );
}
