// The audit log (server/audit.py, docs/security.md): who did which security- or
// money-relevant act, on which device, when and from where. Read online with the device
// token (it is never synced to phones); admins see everything, district managers their
// districts. Filters by action, person and days; pages of 50; CSV export.
import { useEffect, useState } from 'preact/hooks';
import { has, pick, t } from '../../i18n.js';
import { download, getJson } from './api.js';
import { Console, Status, useSaving } from './ui.jsx';

export const AUDIT_ACTIONS = [
  'export.*', 'export.donations', 'export.fund_statement', 'export.year_summary', 'export.audit',
  'device.*', 'device.revoke_lost', 'device.revoke', 'device.sign_out_request', 'device.sign_out',
  'enrol.*', 'enrol.code_issue', 'enrol.code_use', 'enrol.signup_rotate', 'admin.first_setup',
  'membership.*', 'membership.add', 'membership.end',
  'disbursement.*', 'disbursement.approve', 'disbursement.reject', 'disbursement.pay',
  'online.*', 'online.platform_save', 'online.link_set', 'online.statement_import', 'online.statement_book',
  'online.reconcile_book', 'online.reconcile_explain', 'online.nickname_erase',
  'correction.*', 'correction.approve', 'correction.reject', 'person.erase', 'disclosure.publish',
  'campaign.*', 'campaign.create', 'campaign.update',
  'matching_rule.*', 'matching_rule.create', 'matching_rule.update',
];

export function auditQuery(filters, before) {
  const query = new URLSearchParams();
  for (const key of ['action', 'person', 'from', 'to']) {
    const value = (filters[key] || '').trim();
    if (value) query.set(key, value);
  }
  if (before) query.set('before', String(before));
  return query.toString();
}

function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A text of the table, or `fallback` for a code this app version does not know yet. */
function known(key, fallback) {
  return has(key) ? t(key) : fallback;
}

function detailText(detail) {
  return Object.entries(detail || {}).map(([k, v]) => {
    const value = k.endsWith('_fen') && typeof v === 'number' ? `¥${(v / 100).toFixed(2)}` : String(v);
    return `${known(`audit.field.${k}`, k)} ${value}`;
  }).join(' · ');
}

export function AuditScreen({ app }) {
  const [draft, setDraft] = useState({ action: '', person: '', from: '', to: '' });
  const [filters, setFilters] = useState(draft);
  const [page, setPage] = useState({ items: null, next: null });
  const loading = useSaving();
  const exporting = useSaving();
  const load = (applied, before) => loading.run(async () => {
    if (applied.from && applied.to && applied.to < applied.from) throw new Error(t('admin.range_backwards'));
    const answer = await getJson(`/api/v1/audit?${auditQuery(applied, before)}`);
    setPage((old) => ({ items: before ? [...(old.items || []), ...answer.items] : answer.items, next: answer.next }));
  });
  useEffect(() => { if (app.online) load(filters); }, [filters, app.online]);
  const set = (key) => (e) => setDraft({ ...draft, [key]: e.currentTarget.value });
  const apply = (e) => { e.preventDefault(); setFilters({ ...draft }); };
  const clear = () => { const empty = { action: '', person: '', from: '', to: '' }; setDraft(empty); setFilters(empty); };
  const exportCsv = () => exporting.run(async () => {
    const name = `audit_log_${filters.from || 'start'}_${filters.to || 'now'}.csv`;
    await download(`/api/v1/audit.csv?${auditQuery(filters)}`, name);
    return t('admin.downloaded_file', { name });
  });
  const items = page.items || [];
  return (
    <Console app={app} section="audit">
      {!app.online && <p class="notice">{t('admin.needs_network')}</p>}
      <p class="muted">{t('audit.scope')}</p>
      <form class="audit-filters" data-testid="audit-filters" onSubmit={apply}>
        <label>{t('audit.action')}
          <select data-testid="audit-action" value={draft.action} onChange={set('action')}>
            <option value="">{t('audit.all_actions')}</option>
            {AUDIT_ACTIONS.map((a) => <option key={a} value={a}>{a.endsWith('.*') ? `${t(`audit.group.${a.slice(0, -2)}`)} · ${t('audit.all')}` : t(`audit.action.${a}`)}</option>)}
          </select>
        </label>
        <label>{t('audit.person')}<input data-testid="audit-person" value={draft.person} onInput={set('person')} placeholder={t('audit.person_hint')} maxLength={64} /></label>
        <label>{t('hours.from')}<input type="date" data-testid="audit-from" value={draft.from} onInput={set('from')} /></label>
        <label>{t('hours.to')}<input type="date" data-testid="audit-to" value={draft.to} onInput={set('to')} /></label>
        <div class="row">
          <button type="submit" class="primary" data-testid="audit-apply" disabled={loading.busy || !app.online}>{t('audit.apply')}</button>
          <button type="button" onClick={clear} disabled={loading.busy}>{t('audit.clear')}</button>
          <button type="button" data-testid="audit-export" onClick={exportCsv} disabled={exporting.busy || !app.online}>{t('audit.export')}</button>
        </div>
      </form>
      <Status saving={exporting} id="audit-export" />
      {loading.busy && !page.items && <p class="muted">{t('events.loading')}</p>}
      {loading.message && loading.tone === 'bad' && <p class="notice bad" role="alert">{loading.message}</p>}
      {page.items && items.length === 0 && <p class="muted" data-testid="audit-empty">{t('audit.none')}</p>}
      <ul class="plain audit-list">
        {items.map((row) => (
          <li key={row.id} class="item audit-row" data-testid="audit-row" data-action={row.action}>
            <div class="grow">
              <div class="audit-head">
                <strong>{known(`audit.action.${row.action}`, pick(row.action_label) || row.action)}</strong>
                <span class="muted fine">{when(row.at)}</span>
              </div>
              <div>{t('audit.by', { name: row.actor?.name || row.actor?.id || '—' })}
                {row.station || row.district ? <span class="muted"> · {[row.station, row.district].filter(Boolean).join(' · ')}</span> : null}</div>
              <div class="fine">{known(`audit.kind.${row.target.kind}`, row.target.kind)} <span class="mono">{row.target.id}</span></div>
              {Object.keys(row.detail || {}).length > 0 && <div class="fine muted">{detailText(row.detail)}</div>}
              <div class="fine muted">{t('audit.origin', { device: row.device_id || '—', ip: row.client_ip || '—', rid: row.request_id || '—' })}</div>
            </div>
          </li>
        ))}
      </ul>
      {page.next && <button type="button" class="block" data-testid="audit-more" disabled={loading.busy} onClick={() => load(filters, page.next)}>{t('audit.more')}</button>}
    </Console>
  );
}
