// Fundraising campaigns (public fundraising plans of qualified organisations) and sponsors'
// matching rules: set up and edited by the federation (admins; district managers for their
// district: server/domain/campaigns.py runs_campaigns). Each campaign's public page and its
// printable poster (PDF with a QR code) are linked for the station's table. The records
// show once synced (no local versions: the federation works online, at an office).
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { newId } from '../../sync/ids.js';
import { parseYuan, yuan } from '../donations/model.js';
import { QrCode } from '../donations/receipt.jsx';
import { isOpen, shanghaiDay } from '../donations/campaigns.js';
import { districtNames, isAdmin, membershipsOf } from './scope.js';
import { Console, Invalid, SaveForm, required, savedText } from './ui.jsx';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const CREDIT_CODE = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

function runsIn(me) {
  return isAdmin(me) ? null : membershipsOf(me).filter((m) => m.role === 'district_manager').map((m) => m.district);
}

function mayRun(me, district) {
  const mine = runsIn(me);
  return mine === null || (!!district && mine.includes(district));
}

function pageUrl(c) {
  return `${location.origin}/public/campaigns/${c.id}`;
}

function checked(values, prefix) {
  return Object.keys(values).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

function day(value, field) {
  const text = required(value, field);
  if (!DATE.test(text)) throw new Invalid(t('camp.bad_date', { field }));
  return text;
}

function optionalYuan(value) {
  if (!String(value ?? '').trim()) return null;
  const fen = parseYuan(value);
  if (!fen) throw new Invalid(t('admin.bad_amount'));
  return fen;
}

function CampaignCard({ c, view, today }) {
  const funds = c.fund_ids.map((id) => view.fund.get(id)?.name || id).join('、');
  const status = today < c.starts_on ? 'upcoming' : today > c.ends_on ? 'closed' : 'open';
  return (
    <li class="item campaign-row" data-testid="admin-campaign">
      <div class="grow">
        <strong>{c.name}</strong> <span class={`tag ${status === 'open' ? 'ok' : ''}`}>{t(`camp.status.${status}`)}</span>
        <div class="muted fine">{c.organisation} · {t('camp.filing')} <span class="mono whole">{c.filing_number}</span></div>
        <div class="muted fine">{c.starts_on} – {c.ends_on} · {funds}{c.target_fen ? ` · ${t('camp.target')} ¥${yuan(c.target_fen)}` : ''}</div>
        <div class="row links">
          <a href={pageUrl(c)} target="_blank" rel="noopener" data-testid="campaign-page-link">{t('camp.page')}</a>
          <a href={`/public/campaigns/${c.id}/poster.pdf`} target="_blank" rel="noopener" data-testid="campaign-poster-link">{t('camp.poster')}</a>
        </div>
      </div>
      <details class="campaign-qr">
        <summary>{t('camp.qr')}</summary>
        <QrCode text={pageUrl(c)} testid="campaign-qr" />
      </details>
    </li>
  );
}

export function CampaignsAdmin({ app }) {
  const me = app.meta.me;
  const view = app.view;
  const today = shanghaiDay();
  const campaigns = [...(view.campaign?.values() || [])].sort((a, b) => (a.starts_on > b.starts_on ? -1 : a.starts_on < b.starts_on ? 1 : 0));
  const editable = campaigns.filter((c) => mayRun(me, c.district));
  const rules = [...(view.matching_rule?.values() || [])];
  const districts = runsIn(me) ?? districtNames(view);
  const funds = [...view.fund.values()].filter((f) => isAdmin(me) || districts.includes(f.district)).sort((a, b) => (a.name < b.name ? -1 : 1));

  async function createCampaign(v) {
    const name = required(v.name, t('camp.name'));
    const organisation = required(v.organisation, t('camp.organisation'));
    const code = required(v.organisation_code, t('camp.code')).toUpperCase();
    if (!CREDIT_CODE.test(code)) throw new Invalid(t('camp.bad_code'));
    const district = v.district || null;
    const fundIds = checked(v, 'fund:');
    if (!fundIds.length) throw new Invalid(t('camp.need_fund'));
    const wrong = fundIds.map((id) => view.fund.get(id)).find((f) => district && f && f.district !== district);
    if (wrong) throw new Invalid(t('camp.fund_elsewhere', { fund: wrong.name }));
    const starts = day(v.starts_on, t('camp.starts')), ends = day(v.ends_on, t('camp.ends'));
    if (ends < starts) throw new Invalid(t('camp.ends_before'));
    const target = optionalYuan(v.target);
    await act('campaign.create', {
      id: newId(), name, organisation, organisation_code: code,
      qualification: required(v.qualification, t('camp.qualification')),
      certificate_number: required(v.certificate_number, t('camp.certificate')),
      filing_number: required(v.filing_number, t('camp.filing')),
      purpose: required(v.purpose, t('camp.purpose')), starts_on: starts, ends_on: ends,
      district, fund_ids: fundIds, ...(target ? { target_fen: target } : {}),
      ...(v.platform_url?.trim() ? { platform_url: v.platform_url.trim() } : {}),
    });
    return savedText(name);
  }
  async function editCampaign(v) {
    const c = view.campaign.get(v.id);
    if (!c) throw new Invalid(t('form.required', { field: t('camp.campaign') }));
    const fields = {};
    if (v.starts_on) fields.starts_on = day(v.starts_on, t('camp.starts'));
    if (v.ends_on) fields.ends_on = day(v.ends_on, t('camp.ends'));
    if ((fields.ends_on || c.ends_on) < (fields.starts_on || c.starts_on)) throw new Invalid(t('camp.ends_before'));
    const target = optionalYuan(v.target);
    if (target) fields.target_fen = target;
    if (!Object.keys(fields).length) throw new Invalid(t('camp.nothing'));
    await act('campaign.update', { id: c.id, fields });
    return savedText(c.name);
  }
  async function createRule(v) {
    const sponsor = required(v.sponsor, t('camp.sponsor'));
    const ratio = Math.round(Number(v.ratio) * 100);
    if (!Number.isFinite(ratio) || ratio < 1 || ratio > 1000) throw new Invalid(t('camp.bad_ratio'));
    const perGift = optionalYuan(v.cap_per_gift), total = optionalYuan(v.cap_total);
    if (!perGift || !total) throw new Invalid(t('admin.bad_amount'));
    if (perGift > total) throw new Invalid(t('camp.caps'));
    const ids = checked(v, 'campaign:');
    if (!ids.length) throw new Invalid(t('camp.need_campaign'));
    const starts = day(v.starts_on, t('camp.starts')), ends = day(v.ends_on, t('camp.ends'));
    if (ends < starts) throw new Invalid(t('camp.ends_before'));
    await act('matching_rule.create', {
      id: newId(), sponsor, ratio_percent: ratio, cap_per_gift_fen: perGift, cap_total_fen: total,
      starts_on: starts, ends_on: ends, campaign_ids: ids,
    });
    return savedText(sponsor);
  }

  return (
    <Console app={app} section="campaigns">
      <p class="muted fine">{t('camp.intro')}</p>
      <div class="console-cols">
        <section>
          <h2>{t('camp.list', { n: campaigns.length })}</h2>
          {campaigns.length === 0 && <p class="muted">{t('admin.none')}</p>}
          <ul class="plain">{campaigns.map((c) => <CampaignCard key={c.id} c={c} view={view} today={today} />)}</ul>
          <h2>{t('camp.rules', { n: rules.length })}</h2>
          {rules.length === 0 && <p class="muted">{t('admin.none')}</p>}
          <ul class="plain">
            {rules.map((r) => (
              <li key={r.id} class="item" data-testid="admin-matching-rule">
                <div class="grow">
                  <strong>{r.sponsor}</strong> · 1 : {r.ratio_percent / 100}
                  <div class="muted fine">{r.starts_on} – {r.ends_on} · {t('camp.per_gift')} ¥{yuan(r.cap_per_gift_fen)}</div>
                  <div class="muted fine">{r.campaign_ids.map((id) => view.campaign?.get(id)?.name || id).join('、')}</div>
                </div>
                <div class="amount" data-testid="rule-matched">¥{yuan(r.matched_fen)} / ¥{yuan(r.cap_total_fen)}</div>
              </li>
            ))}
          </ul>
        </section>
        <section>
          <SaveForm id="campaign-form" title={t('camp.new')} submit={t('admin.create')} onSave={createCampaign} folded>
            <label>{t('camp.name')}<input name="name" maxLength={200} /></label>
            <label>{t('camp.organisation')}<input name="organisation" maxLength={100} /></label>
            <label>{t('camp.code')}<input name="organisation_code" maxLength={18} autoCapitalize="characters" class="mono" /></label>
            <label>{t('camp.qualification')}<input name="qualification" maxLength={100} defaultValue="公开募捐资格" /></label>
            <label>{t('camp.certificate')}<input name="certificate_number" maxLength={64} /></label>
            <label>{t('camp.filing')}<input name="filing_number" maxLength={64} class="mono" /></label>
            <label>{t('camp.purpose')}<input name="purpose" maxLength={500} /></label>
            <div class="row">
              <label>{t('camp.starts')}<input name="starts_on" type="date" /></label>
              <label>{t('camp.ends')}<input name="ends_on" type="date" /></label>
            </div>
            <label>{t('admin.district')}
              <select name="district">
                {isAdmin(me) && <option value="">{t('admin.city')}</option>}
                {districts.map((d) => <option key={d} value={d}>{d}</option>)}
              </select>
            </label>
            <fieldset class="checks"><legend>{t('camp.funds')}</legend>
              {funds.map((f) => <label key={f.id} class="check"><input type="checkbox" name={`fund:${f.id}`} />{f.name}{f.district ? ` (${f.district})` : ''}</label>)}
              {!funds.length && <p class="muted fine">{t('camp.no_funds')}</p>}
            </fieldset>
            <label>{t('camp.target_yuan')}<input name="target" inputMode="decimal" class="amount" placeholder="0.00" /></label>
            <label>{t('camp.platform_url')}<input name="platform_url" type="url" maxLength={300} /></label>
          </SaveForm>
          {editable.length > 0 && (
            <SaveForm id="campaign-edit-form" title={t('camp.edit')} submit={t('camp.save')} onSave={editCampaign} folded>
              <label>{t('camp.campaign')}
                <select name="id">{editable.map((c) => <option key={c.id} value={c.id}>{c.name} ({c.starts_on} – {c.ends_on})</option>)}</select>
              </label>
              <p class="muted fine">{t('camp.edit_hint')}</p>
              <div class="row">
                <label>{t('camp.starts')}<input name="starts_on" type="date" /></label>
                <label>{t('camp.ends')}<input name="ends_on" type="date" /></label>
              </div>
              <label>{t('camp.target_yuan')}<input name="target" inputMode="decimal" class="amount" placeholder="0.00" /></label>
            </SaveForm>
          )}
          {editable.length > 0 && (
            <SaveForm id="rule-form" title={t('camp.new_rule')} submit={t('admin.create')} onSave={createRule} folded>
              <label>{t('camp.sponsor')}<input name="sponsor" maxLength={100} /></label>
              <label>{t('camp.ratio')}<input name="ratio" inputMode="decimal" defaultValue="1" /></label>
              <div class="row">
                <label>{t('camp.cap_per_gift')}<input name="cap_per_gift" inputMode="decimal" class="amount" /></label>
                <label>{t('camp.cap_total')}<input name="cap_total" inputMode="decimal" class="amount" /></label>
              </div>
              <div class="row">
                <label>{t('camp.starts')}<input name="starts_on" type="date" defaultValue={today} /></label>
                <label>{t('camp.ends')}<input name="ends_on" type="date" defaultValue={today} /></label>
              </div>
              <fieldset class="checks"><legend>{t('camp.campaigns')}</legend>
                {editable.map((c) => <label key={c.id} class="check"><input type="checkbox" name={`campaign:${c.id}`} defaultChecked={isOpen(c, today)} />{c.name}</label>)}
              </fieldset>
            </SaveForm>
          )}
        </section>
      </div>
    </Console>
  );
}
