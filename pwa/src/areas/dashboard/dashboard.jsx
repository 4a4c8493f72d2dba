// The dashboard's screens (a lazy chunk, loaded by index.js): the figures of a place and
// period with their charts (server-made SVG) and a table of groups, each opening its rows;
// the rows behind one figure, a page at a time; the year's summary as PDF or Excel.
// Everything is read online with the device token (server/dashboard.py).
import { useEffect, useState } from 'preact/hooks';
import { getLang, has, pick, t } from '../../i18n.js';
import { getMeta } from '../../sync/store.js';
import { send } from '../../sync/transport.js';
import { todayIso } from '../../ui/format.js';
import './dashboard.css';

class ApiError extends Error {}

async function request(path) {
  if (!navigator.onLine) throw new ApiError(t('dash.needs_network'));
  const token = await getMeta('token');
  let response;
  try {
    response = await send(path, { method: 'GET', cache: 'no-store', headers: { Authorization: `Bearer ${token}` } });
  } catch {
    throw new ApiError(t('dash.needs_network'));
  }
  if (response.ok) return response;
  const answer = await response.json().catch(() => null);
  throw new ApiError(answer ? pick(answer.message) || answer.code : `HTTP ${response.status}`);
}

/** The place chosen in the filter ("", "city", "d:<district>", "s:<station>") as API params. */
export function placeParams(place) {
  if (place.startsWith('d:')) return { district: place.slice(2) };
  if (place.startsWith('s:')) return { station: place.slice(2) };
  return {};
}

function apiQuery(filters, extra = {}) {
  const query = new URLSearchParams({ ...placeParams(filters.place || ''), ...extra });
  if (filters.from) query.set('from', filters.from);
  if (filters.to) query.set('to', filters.to);
  return query;
}

function hashQuery(filters, extra = {}) {
  const query = new URLSearchParams(extra);
  for (const key of ['place', 'from', 'to']) if (filters[key]) query.set(key, filters[key]);
  return query.toString();
}

/** A figure's value in words: yuan, hours, credits, people, a count. */
export function amount(value, unit) {
  if (unit === 'fen') {
    const sign = value < 0 ? '-' : '';
    const abs = Math.abs(value);
    return `${sign}¥${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`;
  }
  if (unit === 'minutes') return t('dash.unit.hours', { n: (value / 60).toLocaleString('en-US', { maximumFractionDigits: 1 }) });
  if (unit === 'cents') return t('dash.unit.credits', { n: (value / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) });
  if (unit === 'people') return t('dash.unit.people', { n: value });
  if (unit === 'percent') return `${value}%`;
  if (unit === 'score') return t('dash.unit.score', { n: value });
  return value.toLocaleString('en-US');
}

function code(value) {
  return value != null && has(`dash.code.${value}`) ? t(`dash.code.${value}`) : String(value ?? '');
}

function groupLabel(group) {
  return pick({ zh: group.zh, en: group.en });
}

function useFetched(path) {
  const [state, setState] = useState({ loading: true, body: null, error: '' });
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: '' }));
    request(path).then((r) => r.json()).then(
      (body) => live && setState({ loading: false, body, error: '' }),
      (error) => live && setState({ loading: false, body: null, error: error.message }),
    );
    return () => { live = false; };
  }, [path]);
  return state;
}

function shift(date, days) {
  const d = new Date(`${date}T12:00:00`);
  d.setDate(d.getDate() + days);
  return todayIso(d);
}

/** 黄埔区, not 黄埔区(区): the kind is said only when the name does not say it. */
function districtLabel(name) {
  return getLang() === 'zh' && String(name).endsWith('区') ? String(name) : t('dash.district', { name });
}

function placeName(view, places) {
  if (view.level === 'city') return t('dash.city');
  if (view.level === 'district') return districtLabel(view.district);
  const station = places?.stations.find((s) => s.code === view.station);
  return t('dash.station', { name: station?.name || view.station, code: view.station });
}

function Filters({ filters, places, onApply }) {
  const [place, setPlace] = useState(filters.place || '');
  const [from, setFrom] = useState(filters.from || '');
  const [to, setTo] = useState(filters.to || '');
  const today = todayIso();
  const year = today.slice(0, 4);
  const quick = [
    ['dash.this_year', `${year}-01-01`, today],
    ['dash.last_30', shift(today, -29), today],
    ['dash.last_year', `${year - 1}-01-01`, `${year - 1}-12-31`],
  ];
  const apply = (next) => onApply({ place, from, to, ...next });
  const choices = places ? [
    ...(places.city ? [['city', t('dash.city')]] : []),
    ...places.districts.map((d) => [`d:${d}`, districtLabel(d)]),
    ...places.stations.map((s) => [`s:${s.code}`, t('dash.station', { name: s.name, code: s.code })]),
  ] : [];
  return (
    <form class="dash-filters" onSubmit={(e) => { e.preventDefault(); apply({}); }} data-testid="dash-filters">
      <label class="dash-place">{t('dash.place')}
        <select data-testid="dash-place" value={place} onChange={(e) => { setPlace(e.currentTarget.value); apply({ place: e.currentTarget.value }); }}>
          <option value="">{t('dash.mine')}</option>
          {choices.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
      </label>
      <label>{t('dash.from')}<input type="date" data-testid="dash-from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} /></label>
      <label>{t('dash.to')}<input type="date" data-testid="dash-to" value={to} onInput={(e) => setTo(e.currentTarget.value)} /></label>
      <button type="submit" class="primary dash-apply" data-testid="dash-apply">{t('dash.show')}</button>
      <div class="chips dash-quick">
        {quick.map(([label, a, b]) => (
          <button key={label} type="button" class={`chip${from === a && to === b ? ' on' : ''}`}
            onClick={() => { setFrom(a); setTo(b); apply({ from: a, to: b }); }}>{t(label)}</button>
        ))}
      </div>
    </form>
  );
}

function FigureCard({ name, figure, chart, filters }) {
  const rowsHref = (key) => `#/dashboard/rows?${hashQuery(filters, { figure: name, key })}`;
  const title = pick(figure.title);
  // bags of rice and barrels of oil do not add up: goods are headed by how many kinds
  const headline = figure.unit === 'quantity' && figure.groups.length > 1
    ? t('dash.unit.kinds', { n: figure.groups.length }) : amount(figure.total, figure.unit);
  return (
    <section class="dash-card" data-testid={`dash-figure-${name}`} aria-labelledby={`dash-h-${name}`}>
      <div class="dash-card-head">
        <h2 id={`dash-h-${name}`}>{title}</h2>
        <a class="dash-total" href={rowsHref('*')} data-testid={`dash-total-${name}`}
          aria-label={`${headline}: ${t('dash.open_rows_of', { name: title })}`}>{headline}</a>
      </div>
      {chart && figure.groups.length > 0 && <div class="dash-chart" aria-hidden="true" dangerouslySetInnerHTML={{ __html: chart }} />}
      {figure.groups.length === 0 ? <p class="muted">{t('dash.none')}</p> : (
        <table class="dash-groups">
          <tbody>
            {figure.groups.map((g) => (
              <tr key={g.key}>
                <th scope="row">{groupLabel(g)}</th>
                <td class="amount">{amount(g.value, figure.unit)}
                  {g.target != null && <span class="dash-target">{t('dash.of_target', { target: amount(g.target, 'fen'), percent: Math.floor((g.value * 100) / g.target) })}</span>}
                  {g.target === null && <span class="dash-target">{t('dash.no_target')}</span>}
                </td>
                <td><a class="button small" href={rowsHref(g.key)} data-testid={`dash-open-${name}-${g.key}`}
                  aria-label={t('dash.open_rows_of', { name: `${title} · ${groupLabel(g)}` })}>{t('dash.open_rows')}</a></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

async function downloadSummary(fmt, year, filters) {
  const query = new URLSearchParams({ ...placeParams(filters.place || ''), year });
  const response = await request(`/api/v1/dashboard/summary.${fmt}?${query}`);
  const blob = await response.blob();
  const disposition = response.headers.get('content-disposition') || '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || `year_summary_${year}.${fmt}`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return name;
}

function YearSummary({ filters, view, places }) {
  const year = (view.to || todayIso()).slice(0, 4);
  const [state, setState] = useState({ busy: false, message: '', error: false });
  const get = async (fmt) => {
    setState({ busy: true, message: t('dash.downloading'), error: false });
    try {
      const name = await downloadSummary(fmt, year, filters);
      setState({ busy: false, message: t('dash.downloaded', { name }), error: false });
    } catch (error) {
      setState({ busy: false, message: error.message, error: true });
    }
  };
  return (
    <section class="dash-card dash-summary" data-testid="dash-summary">
      <h2>{t('dash.summary')}</h2>
      <p class="muted">{t('dash.summary_hint', { year, place: placeName(view, places) })}</p>
      <div class="row">
        <button type="button" class="primary" disabled={state.busy} data-testid="dash-summary-pdf" onClick={() => get('pdf')}>{t('dash.summary_pdf')}</button>
        <button type="button" disabled={state.busy} data-testid="dash-summary-xlsx" onClick={() => get('xlsx')}>{t('dash.summary_xlsx')}</button>
      </div>
      {state.message && <p class={state.error ? 'bad' : 'muted'} role="status" data-testid="dash-summary-status">{state.message}</p>}
    </section>
  );
}

const SECTIONS = ['money', 'projects', 'training'];

function filtersOf(query) {
  return { place: query.get('place') || '', from: query.get('from') || '', to: query.get('to') || '' };
}

export function DashboardScreen({ app, query }) {
  const filters = filtersOf(query);
  const { loading, body, error } = useFetched(`/api/v1/dashboard?${apiQuery(filters)}`);
  const apply = (next) => { location.hash = `/dashboard?${hashQuery(next)}`; };
  const view = body?.view;
  return (
    <main class="screen dash" data-testid="dashboard">
      <a class="back" href="#/admin">‹ {t('admin.title')}</a>
      <h1>{t('dash.title')}</h1>
      {!app.online && <p class="notice">{t('dash.needs_network')}</p>}
      <Filters key={`${filters.place}|${view?.from}|${view?.to}`} filters={{ ...filters, from: filters.from || view?.from, to: filters.to || view?.to }}
        places={body?.places} onApply={apply} />
      {error && <p class="notice" role="alert" data-testid="dash-error">{error}</p>}
      {loading && !body && <p class="muted">{t('dash.loading')}</p>}
      {view && (
        <>
          <p class="dash-showing" data-testid="dash-showing">{t('dash.showing', { place: placeName(view, body.places), from: view.from, to: view.to })}</p>
          <p class="muted fine">{t('dash.from_ledgers')}</p>
          {SECTIONS.map((section) => {
            const shown = Object.entries(body.figures).filter(([, figure]) => (figure.section || 'money') === section);
            if (!shown.length) return null;
            return (
              <div key={section} class="dash-section" data-testid={`dash-section-${section}`}>
                {section !== 'money' && <h2 class="dash-section-title">{t(`dash.section.${section}`)}</h2>}
                <div class="dash-grid">
                  {shown.map(([name, figure]) => (
                    <FigureCard key={name} name={name} figure={figure} chart={body.charts[name]} filters={{ ...filters, from: view.from, to: view.to }} />
                  ))}
                </div>
              </div>
            );
          })}
          <div class="dash-grid">
            {Object.keys(body.pending).length > 0 && (
              <section class="dash-card dash-pending" data-testid="dash-pending">
                <h2>{t('dash.pending')}</h2>
                <ul>{Object.entries(body.pending).map(([key, words]) => <li key={key}>{pick(words)}</li>)}</ul>
              </section>
            )}
            <YearSummary filters={filters} view={view} places={body.places} />
          </div>
        </>
      )}
    </main>
  );
}

function cell(column, value, view) {
  if (column === 'station') return view?.station?.get(value)?.name || String(value ?? '');
  if (column === 'amount_fen') return amount(value, 'fen');
  if (column === 'minutes') return amount(value, 'minutes');
  if (column === 'credits_cents') return amount(value, 'cents');
  if (['kind', 'channel', 'account', 'service_type', 'category', 'status'].includes(column)) return code(value);
  if (column === 'progress') return `${value}%`;
  if (column === 'overall' || column === 'score') return value == null ? '—' : t('dash.unit.score', { n: value });
  if (column === 'id') return String(value).slice(0, 13);
  return String(value ?? '');
}

const VALUE_COLUMNS = ['amount_fen', 'minutes', 'credits_cents', 'quantity', 'score', 'progress', 'overall'];

export function RowsScreen({ app, query }) {
  const filters = filtersOf(query);
  const figure = query.get('figure') || 'money_by_month'; // the rows of all money by default
  const key = query.get('key') || '*';
  const page = Number(query.get('page') || '1');
  const { loading, body, error } = useFetched(`/api/v1/dashboard/rows?${apiQuery(filters, { figure, key, page })}`);
  const back = `#/dashboard?${hashQuery(filters)}`;
  const goPage = (n) => `#/dashboard/rows?${hashQuery(filters, { figure, key, page: n })}`;
  // The column each row adds to the figure as it is (an amount, the minutes): shown bold, and
  // no separate "counts" column; otherwise (goods handed out: a stock movement of -5 counts
  // 5) that column is added.
  const same = body && body.rows.length
    ? VALUE_COLUMNS.find((c) => body.columns.includes(c) && body.rows.every((r) => r[c] === r.value)) : null;
  const columns = body ? [...body.columns, ...(same ? [] : ['value'])] : [];
  return (
    <main class="screen dash dash-rows" data-testid="dashboard-rows">
      <a class="back" href={back}>‹ {t('dash.back')}</a>
      <h1>{body ? pick(body.title) : t('dash.title')}</h1>
      {body && <p class="dash-key" data-testid="dash-rows-key">{pick({ zh: body.zh, en: body.en })}</p>}
      {!app.online && <p class="notice">{t('dash.needs_network')}</p>}
      {error && <p class="notice" role="alert" data-testid="dash-error">{error}</p>}
      {loading && !body && <p class="muted">{t('dash.loading')}</p>}
      {body && (
        <>
          <p class="dash-showing">{t('dash.showing', { place: placeName(body.view, null), from: body.view.from, to: body.view.to })}</p>
          <p class="dash-sum" data-testid="dash-rows-sum">
            <strong>{t(body.mean ? 'dash.mean_of_rows' : 'dash.sum_of_rows', { value: amount(body.value, body.unit) })}</strong>
            {' · '}{t('dash.rows_count', { n: body.count })}
          </p>
          {body.rows.length === 0 ? <p class="muted">{t('dash.none')}</p> : (
            <table class="dash-table" data-testid="dash-rows-table">
              <thead><tr>{columns.map((c) => <th key={c} scope="col">{t(`dash.col.${c}`)}</th>)}</tr></thead>
              <tbody>
                {body.rows.map((row) => (
                  <tr key={row.id}>
                    {columns.map((c) => (
                      <td key={c} data-label={t(`dash.col.${c}`)} class={c === 'value' || c === same ? 'amount' : c === 'id' ? 'mono' : ''}>
                        {c === 'value' ? amount(row.value, body.unit) : cell(c, row[c], app.view)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {body.pages > 1 && (
            <nav class="row dash-pager" aria-label={t('dash.page', { page: body.page, pages: body.pages })}>
              {body.page > 1 ? <a class="button" href={goPage(body.page - 1)} data-testid="dash-prev">{t('dash.prev')}</a> : <span />}
              <span class="muted">{t('dash.page', { page: body.page, pages: body.pages })}</span>
              {body.page < body.pages ? <a class="button" href={goPage(body.page + 1)} data-testid="dash-next">{t('dash.next')}</a> : <span />}
            </nav>
          )}
        </>
      )}
    </main>
  );
}
