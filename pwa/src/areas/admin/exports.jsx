// Exports for managers (server/exports.py): the donations of a day or a period, and a
// fund's statement, as CSV or Excel. Fetched with the device token, saved as files.
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { todayIso } from '../../ui/format.js';
import { download } from './api.js';
import { holdsFund } from './funds.jsx';
import { Console, Status, useSaving } from './ui.jsx';

function daysAgo(n) {
  const d = new Date();
  d.setDate(d.getDate() - n);
  const pad = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function exportPath(kind, fmt, from, to, fund) {
  const query = new URLSearchParams();
  if (from) query.set('from', from);
  if (to) query.set('to', to);
  const base = kind === 'statement' ? `/api/v1/exports/funds/${encodeURIComponent(fund)}/statement` : '/api/v1/exports/donations';
  return `${base}.${fmt}?${query}`;
}

export function exportName(kind, fmt, from, to) {
  return `${kind === 'statement' ? 'fund_statement' : 'donations'}_${from || 'start'}_${to || 'now'}.${fmt}`;
}

export function ExportsScreen({ app }) {
  const me = app.meta.me;
  const [from, setFrom] = useState(todayIso());
  const [to, setTo] = useState(todayIso());
  const [fund, setFund] = useState('');
  const saving = useSaving();
  const funds = [...(app.view.fund?.values() || [])].filter((f) => holdsFund(me, f) || (f.station && f.station === me?.station));
  const fundId = fund || funds[0]?.id || '';
  const get = (kind, fmt) => saving.run(async () => {
    if (from && to && to < from) throw new Error(t('admin.range_backwards'));
    const name = exportName(kind, fmt, from, to);
    await download(exportPath(kind, fmt, from, to, fundId), name);
    return t('admin.downloaded_file', { name });
  });
  const range = (a, b) => { setFrom(a); setTo(b); };
  return (
    <Console app={app} section="exports">
      {!app.online && <p class="notice" data-testid="exports-offline">{t('admin.needs_network')}</p>}
      <p class="muted">{t('admin.exports_scope')}</p>
      <div class="chips">
        {[['admin.today', 0], ['admin.last_7', 6], ['admin.last_30', 29]].map(([label, days]) => (
          <button key={label} type="button" class={from === daysAgo(days) && to === todayIso() ? 'on' : ''} onClick={() => range(daysAgo(days), todayIso())}>{t(label)}</button>
        ))}
      </div>
      <div class="row">
        <label>{t('hours.from')}<input type="date" data-testid="export-from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} /></label>
        <label>{t('hours.to')}<input type="date" data-testid="export-to" value={to} onInput={(e) => setTo(e.currentTarget.value)} /></label>
      </div>
      <fieldset disabled={saving.busy || !app.online} class="export-group">
        <h2>{t('admin.export_donations')}</h2>
        <div class="row">
          <button type="button" class="primary" data-testid="export-donations-csv" onClick={() => get('donations', 'csv')}>CSV</button>
          <button type="button" data-testid="export-donations-xlsx" onClick={() => get('donations', 'xlsx')}>Excel</button>
        </div>
        {funds.length > 0 && (
          <>
            <h2>{t('admin.export_statement')}</h2>
            <label class="compact">{t('admin.fund')}
              <select value={fundId} onChange={(e) => setFund(e.currentTarget.value)}>
                {funds.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
              </select>
            </label>
            <div class="row">
              <button type="button" data-testid="export-statement-csv" onClick={() => get('statement', 'csv')}>CSV</button>
              <button type="button" data-testid="export-statement-xlsx" onClick={() => get('statement', 'xlsx')}>Excel</button>
            </div>
          </>
        )}
      </fieldset>
      {saving.busy && <p class="muted">{t('admin.downloading')}</p>}
      <Status saving={saving} id="export" />
    </Console>
  );
}
