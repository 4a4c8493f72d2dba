// Online gifts from the joint fundraising platform (广益联募; server/online.py,
// docs/online-gifts.md): the federation uploads a platform's donation statement, reads the
// preview (new, already booked, bad lines), books it into the fund ledger with a progress
// bar (in chunks, one transaction each), and reconciles the platform against the ledger
// per project and day. Funds' and projects' pages on the platform and (admins) the
// platform's column mapping are set here too. Online only: nothing here is synced.
import { useEffect, useState } from 'preact/hooks';
import { pick, t } from '../../i18n.js';
import { yuan } from '../donations/model.js';
import { getJson, postFile, postJson } from './api.js';
import { holdsFund } from './funds.jsx';
import { isAdmin } from './scope.js';
import { Console, Status, useSaving } from './ui.jsx';

const BASE = '/api/v1/admin/online';
export const ONLINE_TABS = ['import', 'reconcile', 'links', 'platform'];
const CHUNK = 2000;

function money(fen) {
  return fen === null || fen === undefined ? '—' : `¥${yuan(fen)}`;
}

function today() {
  const d = new Date();
  const pad = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function OnlineScreen({ app }) {
  const me = app.meta.me;
  const [setup, setSetup] = useState(null);
  const [platform, setPlatform] = useState('');
  const [tab, setTab] = useState('import');
  const loading = useSaving();
  const load = () => loading.run(async () => {
    const answer = await getJson(`${BASE}/platforms`);
    setSetup(answer);
    if (!platform && answer.platforms.length) setPlatform(answer.platforms[0].id);
    if (!answer.platforms.length) setTab(isAdmin(me) ? 'platform' : 'import');
  });
  useEffect(() => { if (app.online) load(); }, [app.online]);
  const tabs = ONLINE_TABS.filter((k) => k !== 'platform' || isAdmin(me));
  const chosen = setup?.platforms.find((p) => p.id === platform);
  return (
    <Console app={app} section="online">
      {!app.online && <p class="notice">{t('admin.needs_network')}</p>}
      <p class="muted">{t('online.intro')}</p>
      {loading.tone === 'bad' && <p class="notice bad" role="alert">{loading.message}</p>}
      {setup && (
        <div class="online-bar">
          {setup.platforms.length > 1 && (
            <label class="compact">{t('online.platform')}
              <select value={platform} onChange={(e) => setPlatform(e.currentTarget.value)} data-testid="online-platform">
                {setup.platforms.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
              </select>
            </label>
          )}
          <div class="online-tabs" role="group" aria-label={t('online.sections')}>
            {tabs.map((k) => (
              <button key={k} type="button" aria-pressed={tab === k} class={tab === k ? 'on' : ''}
                data-testid={`online-tab-${k}`} onClick={() => setTab(k)}>{t(`online.tab.${k}`)}</button>
            ))}
          </div>
        </div>
      )}
      {setup && !setup.platforms.length && tab !== 'platform' && <p class="notice">{t('online.no_platform')}</p>}
      {setup && chosen && tab === 'import' && <ImportPanel app={app} platform={chosen} />}
      {setup && chosen && tab === 'reconcile' && <ReconcilePanel app={app} platform={chosen} />}
      {setup && chosen && tab === 'links' && <LinksPanel app={app} platform={chosen} />}
      {setup && tab === 'platform' && isAdmin(me) && <PlatformPanel setup={setup} platform={chosen} onSaved={(id) => { setPlatform(id); load(); }} />}
    </Console>
  );
}

// ----------------------------------------------------------------------------- import

function ImportPanel({ app, platform }) {
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [recent, setRecent] = useState([]);
  const [progress, setProgress] = useState(null);
  const uploading = useSaving();
  const booking = useSaving();
  const loadRecent = async () => setRecent((await getJson(`${BASE}/statements`)).statements.filter((s) => s.platform_id === platform.id));
  useEffect(() => { if (app.online) loadRecent().catch(() => {}); }, [platform.id, app.online]);
  const upload = (e) => {
    e.preventDefault();
    uploading.run(async () => {
      if (!file) throw new Error(t('online.choose_file'));
      booking.clear();
      setProgress(null);
      const answer = await postFile(`${BASE}/statements?platform=${encodeURIComponent(platform.id)}&filename=${encodeURIComponent(file.name)}`, file);
      setPreview(answer);
      await loadRecent();
      return answer.statement.status === 'refused' ? '' : t('online.previewed', { n: answer.rows_total });
    });
  };
  const open = (id) => uploading.run(async () => { setProgress(null); booking.clear(); setPreview(await getJson(`${BASE}/statements/${id}`)); });
  const book = () => booking.run(async () => {
    const id = preview.statement.id;
    const total = preview.counts.new;
    let done = 0;
    let fen = 0;
    setProgress({ done, total });
    for (;;) {
      const step = await postJson(`${BASE}/statements/${id}/book`, { limit: CHUNK });
      done += step.booked;
      fen += step.booked_fen;
      setProgress({ done, total: Math.max(total, done + step.remaining) });
      if (step.remaining === 0 || step.booked === 0) break;
    }
    setPreview(await getJson(`${BASE}/statements/${id}`));
    await loadRecent();
    return t('online.booked', { n: done, amount: yuan(fen) });
  });
  return (
    <section data-testid="online-import">
      <form class="online-upload admin-form" onSubmit={upload} data-testid="online-upload">
        <label>{t('online.file')}
          <input type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            data-testid="online-file" onChange={(e) => setFile(e.currentTarget.files?.[0] || null)} />
        </label>
        <p class="muted fine">{t('online.file_hint')}</p>
        <button type="submit" class="primary" disabled={uploading.busy || !app.online} data-testid="online-upload-go">
          {uploading.busy ? t('online.reading') : t('online.upload')}</button>
        <Status saving={uploading} id="online-upload" />
      </form>
      {preview && (
        <Preview preview={preview}>
          {preview.bookable && (
            <div class="online-book">
              <button type="button" class="block primary" disabled={booking.busy || !app.online} onClick={book} data-testid="online-book">
                {t('online.book', { n: preview.counts.new, amount: yuan(preview.amounts_fen.new) })}</button>
            </div>
          )}
          {progress && (
            <div class="online-progress" data-testid="online-progress">
              <progress max={progress.total || 1} value={progress.done} aria-label={t('online.progress_label')} />
              <span class="fine">{t('online.progress', { done: progress.done, total: progress.total })}</span>
            </div>
          )}
          <Status saving={booking} id="online-book" />
        </Preview>
      )}
      {recent.length > 0 && (
        <details class="online-recent">
          <summary>{t('online.recent', { n: recent.length })}</summary>
          <ul class="plain">
            {recent.map((s) => (
              <li key={s.id} class="item">
                <div class="grow"><strong>{s.filename}</strong> <span class={`tag st-${s.status}`}>{t(`online.status.${s.status}`)}</span>
                  <div class="muted fine">{s.uploaded_at.slice(0, 16).replace('T', ' ')} · {t('online.lines', { n: s.line_count })} · {money(s.total_fen)}</div></div>
                <button type="button" class="small" onClick={() => open(s.id)}>{t('online.open')}</button>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function Preview({ preview, children }) {
  const s = preview.statement;
  const refused = s.status === 'refused';
  return (
    <div class="online-preview" data-testid="online-preview" data-status={s.status}>
      <h2>{s.filename} <span class={`tag st-${s.status}`}>{t(`online.status.${s.status}`)}</span></h2>
      {refused && (
        <div class="notice bad" role="alert" data-testid="online-problems">
          <p>{t('online.refused', { n: s.problem_count })}</p>
          <ul>{preview.problems.map((p) => <li key={p.line}>{t('online.line_n', { n: p.line })}:{pick(p.message)}</li>)}</ul>
        </div>
      )}
      {!refused && (
        <>
          <ul class="online-counts" data-testid="online-counts">
            {['new', 'booked', 'differs', 'unassigned', 'elsewhere'].map((k) => (
              <li key={k} class={`count st-${k}`} data-state={k}><strong>{preview.counts[k]}</strong>
                <span>{t(`online.state.${k}`)}</span><span class="fine">{money(preview.amounts_fen[k])}</span></li>
            ))}
          </ul>
          {children}
          <h3>{t('online.totals')}</h3>
          <div class="scroll" tabindex="0" role="region" aria-label={t('online.totals')}>
            <table class="online-table stack" data-testid="online-totals">
              <thead><tr><th>{t('online.day')}</th><th>{t('online.project')}</th><th class="n">{t('online.orders')}</th><th class="n">{t('online.amount')}</th><th class="n">{t('online.new_amount')}</th></tr></thead>
              <tbody>{preview.totals.map((r) => (
                <tr key={`${r.day}|${r.project}`}><td class="nowrap lead">{r.day}</td><td class="lead">{r.project}{!r.fund_id && <span class="tag bad">{t('online.state.unassigned')}</span>}</td>
                  <td class="n" data-label={t('online.orders')}>{r.lines}</td><td class="n" data-label={t('online.amount')}>{money(r.amount_fen)}</td><td class="n" data-label={t('online.new_amount')}>{money(r.new_fen)}</td></tr>
              ))}</tbody>
            </table>
          </div>
          <h3>{t('online.rows', { shown: preview.rows.length, n: preview.rows_total })}</h3>
          <div class="scroll" tabindex="0" role="region" aria-label={t('online.rows_label')}>
            <table class="online-table stack" data-testid="online-rows">
              <thead><tr><th class="n">{t('online.line')}</th><th>{t('online.order')}</th><th>{t('online.time')}</th><th class="n">{t('online.amount')}</th><th>{t('online.project')}</th><th>{t('online.channel')}</th><th>{t('online.state')}</th></tr></thead>
              <tbody>{preview.rows.map((r) => (
                <tr key={r.line_no} data-state={r.state}><td class="n lead" data-label={t('online.line')}>{r.line_no}</td><td class="mono lead">{r.order_no}</td>
                  <td class="nowrap" data-label={t('online.time')}>{r.paid_at.slice(0, 16).replace('T', ' ')}</td><td class="n" data-label={t('online.amount')}>{money(r.amount_fen)}</td>
                  <td data-label={t('online.project')}>{r.project_label}</td><td data-label={t('online.channel')}>{r.channel}</td>
                  <td data-label={t('online.state')}><span class={`tag st-${r.state}`}>{t(`online.state.${r.state}`)}</span>{r.state === 'differs' && <span class="fine"> {money(r.booked_fen)}</span>}</td></tr>
              ))}</tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

// ----------------------------------------------------------------------------- reconciliation

function monthStart() {
  return `${today().slice(0, 8)}01`;
}

function ReconcilePanel({ app, platform }) {
  const [range, setRange] = useState({ start: monthStart(), end: today() });
  const [found, setFound] = useState(null);
  const loading = useSaving();
  const load = (e) => {
    e?.preventDefault();
    loading.run(async () => {
      setFound(await getJson(`${BASE}/reconcile?platform=${encodeURIComponent(platform.id)}&start=${range.start}&end=${range.end}`));
    });
  };
  useEffect(() => { if (app.online) load(); }, [platform.id, app.online]);
  return (
    <section data-testid="online-reconcile">
      <form class="online-range" onSubmit={load}>
        <label>{t('hours.from')}<input type="date" value={range.start} required onInput={(e) => setRange({ ...range, start: e.currentTarget.value })} data-testid="online-start" /></label>
        <label>{t('hours.to')}<input type="date" value={range.end} required onInput={(e) => setRange({ ...range, end: e.currentTarget.value })} data-testid="online-end" /></label>
        <button type="submit" class="primary" disabled={loading.busy || !app.online} data-testid="online-reconcile-go">{t('online.reconcile')}</button>
      </form>
      {loading.tone === 'bad' && <p class="notice bad" role="alert">{loading.message}</p>}
      {found && (
        <>
          <p class="online-sums" data-testid="online-sums">{t('online.sums', { platform: yuan(found.platform_fen), ledger: yuan(found.ledger_fen) })}
            {found.platform_fen === found.ledger_fen ? <span class="tag ok">{t('online.agree')}</span> : <span class="tag bad">{t('online.disagree', { amount: yuan(found.platform_fen - found.ledger_fen) })}</span>}</p>
          <div class="scroll" tabindex="0" role="region" aria-label={t('online.by_day')}>
            <table class="online-table stack" data-testid="online-reconcile-table">
              <thead><tr><th>{t('online.day')}</th><th>{t('online.project')}</th><th class="n">{t('online.platform_total')}</th><th class="n">{t('online.ledger_total')}</th><th class="n">{t('online.difference')}</th></tr></thead>
              <tbody>{found.rows.map((r) => (
                <tr key={`${r.day}|${r.project}`} class={r.difference_fen ? 'off' : ''}><td class="nowrap lead">{r.day}</td><td class="lead">{r.project}</td>
                  <td class="n" data-label={t('online.platform_total')}>{money(r.platform_fen)}<span class="fine muted"> ({r.platform_orders})</span></td>
                  <td class="n" data-label={t('online.ledger_total')}>{money(r.ledger_fen)}<span class="fine muted"> ({r.ledger_orders})</span></td>
                  <td class="n" data-label={t('online.difference')}>{r.difference_fen ? money(r.difference_fen) : '✔'}</td></tr>
              ))}{found.rows.length === 0 && <tr><td colSpan={5}>{t('online.nothing')}</td></tr>}</tbody>
            </table>
          </div>
          <h3>{t('online.unmatched', { n: found.unmatched.length })}</h3>
          <ul class="plain">
            {found.unmatched.map((u) => <Unmatched key={u.order_no} app={app} platform={platform} item={u} categories={found.categories} onDone={() => load()} />)}
          </ul>
          {found.explained.length > 0 && (
            <details><summary>{t('online.explained', { n: found.explained.length })}</summary>
              <ul class="plain">{found.explained.map((u) => (
                <li key={u.order_no} class="item"><div class="grow"><span class="mono">{u.order_no}</span> · {u.day} · {u.project}
                  <div class="fine muted">{pick({ zh: u.category_label.split(' / ')[0], en: u.category_label.split(' / ')[1] })}{u.reason && ` · ${u.reason}`}</div></div></li>
              ))}</ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}

function Unmatched({ app, platform, item, categories, onDone }) {
  const me = app.meta.me;
  const [mode, setMode] = useState('');
  const [target, setTarget] = useState('');
  const [category, setCategory] = useState('refund');
  const [reason, setReason] = useState('');
  const saving = useSaving();
  const funds = [...(app.view.fund?.values() || [])].filter((f) => holdsFund(me, f));
  const projects = [...(app.view.project?.values() || [])];
  const bookable = item.problem === 'not_in_ledger';
  const book = () => saving.run(async () => {
    const [fund_id, project_id] = target.split('|');
    if (!fund_id) throw new Error(t('online.choose_target'));
    await postJson(`${BASE}/reconcile/book`, { platform: platform.id, order_no: item.order_no, fund_id, project_id: project_id || null });
    setTimeout(onDone, 600);
    return t('online.resolved');
  });
  const explain = () => saving.run(async () => {
    await postJson(`${BASE}/reconcile/explain`, { platform: platform.id, order_no: item.order_no, category, reason });
    setTimeout(onDone, 600);
    return t('online.resolved');
  });
  return (
    <li class="item online-unmatched" data-testid="online-unmatched" data-order={item.order_no}>
      <div class="grow">
        <div><span class="mono">{item.order_no}</span> <span class="tag bad">{t(`online.problem.${item.problem}`)}</span></div>
        <div class="fine">{item.day} · {item.project} · {t('online.platform_says', { amount: money(item.platform_fen) })} · {t('online.ledger_says', { amount: money(item.ledger_fen) })}</div>
        <div class="row online-resolve">
          {bookable && <button type="button" class="small" onClick={() => setMode(mode === 'book' ? '' : 'book')}>{t('online.resolve_book')}</button>}
          <button type="button" class="small" onClick={() => setMode(mode === 'explain' ? '' : 'explain')}>{t('online.resolve_explain')}</button>
        </div>
        {mode === 'book' && (
          <div class="online-resolve-form">
            <label>{t('online.book_onto')}
              <select value={target} onChange={(e) => setTarget(e.currentTarget.value)} data-testid="online-target">
                <option value="">—</option>
                {funds.map((f) => [
                  <option key={f.id} value={`${f.id}|`}>{f.name} · {t('online.general')}</option>,
                  ...projects.filter((p) => p.fund_id === f.id).map((p) => <option key={p.id} value={`${f.id}|${p.id}`}>{f.name} · {p.name}</option>),
                ])}
              </select>
            </label>
            <button type="button" class="primary" disabled={saving.busy} onClick={book} data-testid="online-resolve-book">{t('online.book_it')}</button>
          </div>
        )}
        {mode === 'explain' && (
          <div class="online-resolve-form">
            <label>{t('online.category')}
              <select value={category} onChange={(e) => setCategory(e.currentTarget.value)} data-testid="online-category">
                {Object.entries(categories).map(([k, label]) => <option key={k} value={k}>{pick({ zh: label.split(' / ')[0], en: label.split(' / ')[1] })}</option>)}
              </select>
            </label>
            <label>{t('online.reason')}<input value={reason} maxLength={200} onInput={(e) => setReason(e.currentTarget.value)} data-testid="online-reason" /></label>
            <button type="button" class="primary" disabled={saving.busy} onClick={explain} data-testid="online-resolve-explain">{t('online.mark_explained')}</button>
          </div>
        )}
        <Status saving={saving} id="online-resolve" />
      </div>
    </li>
  );
}

// ----------------------------------------------------------------------------- links

function LinksPanel({ app, platform }) {
  const me = app.meta.me;
  const [links, setLinks] = useState([]);
  const [draft, setDraft] = useState({ target: '', url: '', label: '' });
  const saving = useSaving();
  const load = async () => setLinks((await getJson(`${BASE}/links`)).links.filter((l) => l.platform_id === platform.id));
  useEffect(() => { if (app.online) load().catch(() => {}); }, [platform.id, app.online]);
  const funds = [...(app.view.fund?.values() || [])].filter((f) => holdsFund(me, f)).sort((a, b) => (a.name < b.name ? -1 : 1));
  const projects = [...(app.view.project?.values() || [])];
  const nameOf = (l) => (l.target_kind === 'fund' ? app.view.fund?.get(l.target_id)?.name : app.view.project?.get(l.target_id)?.name) || l.target_id;
  const pickTarget = (value) => {
    const [kind, id] = value.split('|');
    const existing = links.find((l) => l.target_kind === kind && l.target_id === id);
    const name = kind === 'fund' ? app.view.fund?.get(id)?.name : app.view.project?.get(id)?.name;
    setDraft({ target: value, url: existing?.url || '', label: existing?.label || name || '' });
  };
  const save = (e) => {
    e.preventDefault();
    saving.run(async () => {
      const [target_kind, target_id] = draft.target.split('|');
      if (!target_id) throw new Error(t('online.choose_target'));
      await postJson(`${BASE}/links`, { target_kind, target_id, platform: platform.id, url: draft.url, label: draft.label });
      await load();
      return draft.url ? t('online.link_saved') : t('online.link_removed');
    });
  };
  return (
    <section data-testid="online-links">
      <p class="muted">{t('online.links_intro', { host: platform.host || '—' })}</p>
      <ul class="plain">
        {links.map((l) => (
          <li key={`${l.target_kind}|${l.target_id}`} class="item"><div class="grow"><strong>{nameOf(l)}</strong> <span class="tag">{t(`online.kind.${l.target_kind}`)}</span>
            <div class="fine"><a href={l.url} target="_blank" rel="noopener noreferrer" class="break">{l.url}</a></div>
            <div class="fine muted">{t('online.label_is', { label: l.label })}</div></div></li>
        ))}
        {links.length === 0 && <li class="muted">{t('online.no_links')}</li>}
      </ul>
      <form class="admin-form" onSubmit={save} data-testid="online-link-form">
        <h3>{t('online.set_link')}</h3>
        <fieldset disabled={saving.busy}>
          <label>{t('online.target')}
            <select value={draft.target} onChange={(e) => pickTarget(e.currentTarget.value)} data-testid="online-link-target">
              <option value="">—</option>
              {funds.map((f) => [
                <option key={f.id} value={`fund|${f.id}`}>{f.name}</option>,
                ...projects.filter((p) => p.fund_id === f.id).map((p) => <option key={p.id} value={`project|${p.id}`}>{f.name} · {p.name}</option>),
              ])}
            </select>
          </label>
          <label>{t('online.url')}<input type="url" value={draft.url} placeholder="https://" maxLength={500} onInput={(e) => setDraft({ ...draft, url: e.currentTarget.value })} data-testid="online-link-url" /></label>
          <label>{t('online.label')}<input value={draft.label} maxLength={200} onInput={(e) => setDraft({ ...draft, label: e.currentTarget.value })} data-testid="online-link-label" /></label>
          <p class="muted fine">{t('online.label_hint')}</p>
          <button type="submit" class="primary" data-testid="online-link-save">{t('online.save')}</button>
        </fieldset>
        <Status saving={saving} id="online-link" />
      </form>
    </section>
  );
}

// ----------------------------------------------------------------------------- platform (admins)

function PlatformPanel({ setup, platform, onSaved }) {
  const start = platform || { id: 'gylm', name: '广益联募', host: '', mapping: setup.default_mapping, time_format: setup.default_time_format };
  const [draft, setDraft] = useState({
    id: start.id, name: start.name, host: start.host, time_format: start.time_format,
    ...Object.fromEntries(setup.fields.map((f) => [f, (start.mapping[f] || []).join('、')])),
  });
  const saving = useSaving();
  const set = (key) => (e) => setDraft({ ...draft, [key]: e.currentTarget.value });
  const save = (e) => {
    e.preventDefault();
    saving.run(async () => {
      const mapping = Object.fromEntries(setup.fields.map((f) => [f, draft[f].split(/[、,,]/).map((x) => x.trim()).filter(Boolean)]));
      const saved = await postJson(`${BASE}/platforms`, { id: draft.id.trim(), name: draft.name, host: draft.host.trim(), time_format: draft.time_format, mapping });
      onSaved(saved.id);
      return t('admin.saved', { what: saved.name });
    });
  };
  return (
    <form class="admin-form online-platform" onSubmit={save} data-testid="online-platform-form">
      <h3>{t('online.platform_setup')}</h3>
      <fieldset disabled={saving.busy}>
        <label>{t('online.platform_id')}<input value={draft.id} required maxLength={36} pattern="[a-z0-9][a-z0-9_\-]{1,35}" onInput={set('id')} readOnly={!!platform} /></label>
        <label>{t('online.platform_name')}<input value={draft.name} required maxLength={100} onInput={set('name')} /></label>
        <label>{t('online.host')}<input value={draft.host} maxLength={200} placeholder="www.example.org.cn" onInput={set('host')} /></label>
        <label>{t('online.time_format')}<input value={draft.time_format} required maxLength={64} onInput={set('time_format')} /></label>
        <p class="muted fine">{t('online.mapping_hint')}</p>
        {setup.fields.map((f) => (
          <label key={f}>{t(`online.field.${f}`)}{setup.required.includes(f) ? ' *' : ''}
            <input value={draft[f]} maxLength={200} onInput={set(f)} required={setup.required.includes(f)} data-testid={`online-map-${f}`} /></label>
        ))}
        <button type="submit" class="primary" data-testid="online-platform-save">{t('online.save')}</button>
      </fieldset>
      <Status saving={saving} id="online-platform" />
    </form>
  );
}
