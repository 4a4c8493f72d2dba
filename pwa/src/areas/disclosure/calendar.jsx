// The calendar (what is due, when, what is late) and one period: its figures as publishing
// would freeze them, then the publish button (with a confirmation: a report is never
// changed). Both read the server (GET /api/v1/disclosure/...); nothing here is synced.
import { useEffect, useState } from 'preact/hooks';
import { pick, t } from '../../i18n.js';
import { yuan } from '../../ui/format.js';
import { getJson, postJson } from '../admin/api.js';
import { Console, Status, useSaving } from '../admin/ui.jsx';

const path = (line) => `${line.subject_kind}/${encodeURIComponent(line.subject_id)}/${line.seq}`;
const label = (pair) => (Array.isArray(pair) ? pick({ zh: pair[0], en: pair[1] || pair[0] }) : String(pair));

function Line({ line }) {
  return (
    <a class={`line ${line.status}`} href={`#/admin/disclosure/${path(line)}`} data-testid="disclosure-line" data-status={line.status}>
      <strong>{line.subject_name}</strong>
      <span class={`tag ${line.status}`}>{t(`disclosure.status.${line.status}`)}</span>
      <span class="muted">{t(`disclosure.kind.${line.period_kind}`)} · {t('disclosure.period', line)}</span>
      <span class="muted">{line.published_at ? t('disclosure.published_on', { day: line.published_at.slice(0, 10) }) : t('disclosure.due', line)}</span>
    </a>
  );
}

export function CalendarScreen({ app }) {
  const [data, setData] = useState(null);
  const loading = useSaving();
  useEffect(() => { loading.run(async () => { setData(await getJson('/api/v1/disclosure/calendar')); }); }, [app.online]);
  const lines = data?.lines || [];
  const groups = [
    ['to_publish', lines.filter((l) => l.status === 'overdue' || l.status === 'due')],
    ['running', lines.filter((l) => l.status === 'running')],
    ['published', lines.filter((l) => l.status.startsWith('published'))],
  ];
  return (
    <Console app={app} section="disclosure">
      <div class="disclosure" data-testid="disclosure-calendar">
        <p class="muted">{t('disclosure.rule')}{data ? ` ${t('disclosure.remind', { n: data.remind_days })}` : ''}</p>
        {!data && loading.busy && <p class="muted">{t('disclosure.loading')}</p>}
        {data && lines.length === 0 && <p class="notice">{t('disclosure.none')}</p>}
        {groups.map(([key, found]) => found.length > 0 && (
          <section key={key}>
            <h2>{t(`disclosure.${key}`)} ({found.length})</h2>
            {found.map((line) => <Line key={line.id} line={line} />)}
          </section>
        ))}
        <Status saving={loading} id="disclosure-load" />
      </div>
    </Console>
  );
}

function Rows({ rows, total }) {
  return (
    <ul class="sums plain">
      {rows.length === 0 && <li class="muted">{t('disclosure.nothing')}</li>}
      {rows.map(([name, amount], i) => <li key={i}><span>{name}</span><span class="n">¥{yuan(amount)}</span></li>)}
      {total !== undefined && rows.length > 1 && <li class="total"><span>{t('disclosure.total')}</span><span class="n">¥{yuan(total)}</span></li>}
    </ul>
  );
}

function Figures({ f }) {
  return (
    <>
      <h2>{t('disclosure.balance')}</h2>
      <ul class="sums plain" data-testid="disclosure-balance">
        <li><span>{t('disclosure.opening')}</span><span class="n">¥{yuan(f.opening_fen)}</span></li>
        <li><span>{t('disclosure.income')}</span><span class="n">¥{yuan(f.income_fen)}</span></li>
        <li><span>{t('disclosure.corrections')}</span><span class="n">¥{yuan(f.corrections_fen)}</span></li>
        <li><span>{t('disclosure.spending')}</span><span class="n">¥{yuan(-f.spending_fen)}</span></li>
        <li class="total"><span>{t('disclosure.closing')}</span><span class="n" data-testid="disclosure-closing">¥{yuan(f.closing_fen)}</span></li>
      </ul>
      <h2>{t('disclosure.by_channel')}</h2>
      <Rows rows={f.income_by_channel.map((c) => [`${label(c.label)} (${c.count})`, c.amount_fen])} total={f.income_fen} />
      <h2>{t('disclosure.by_destination')}</h2>
      <Rows rows={f.income_by_destination.map((d) => [label(d.label), d.amount_fen])} total={f.income_fen} />
      <h2>{t('disclosure.by_purpose')}</h2>
      <Rows rows={f.spending_by_category.map((p) => [`${label(p.label)} (${p.count})`, p.amount_fen])} total={f.spending_fen} />
      <Rows rows={[[t('disclosure.goods', { n: f.goods_count }), f.goods_value_fen], [t('disclosure.matched'), f.matched_fen || 0]]} />
      {(f.heads || [f.head]).map((h) => (
        <p key={h.fund_id} class="muted">{t('disclosure.head', h)}{h.seq === 0 ? ` · ${t('disclosure.empty_ledger')}` : ''}<br /><span class="hash">{h.hash}</span></p>
      ))}
    </>
  );
}

export function PeriodScreen({ app, params }) {
  const [kind, subject, seq] = params;
  const [data, setData] = useState(null);
  const [confirming, setConfirming] = useState(false);
  const loading = useSaving();
  const publishing = useSaving();
  const base = `/api/v1/disclosure/${kind}/${encodeURIComponent(subject)}/${seq}`;
  const load = () => loading.run(async () => { setData(await getJson(`${base}/preview`)); });
  useEffect(() => { load(); }, [base, app.online]);
  const line = data?.line;
  const publish = () => publishing.run(async () => {
    await postJson(`${base}/publish`);
    setConfirming(false);
    await getJson(`${base}/preview`).then(setData);
    return t('disclosure.done');
  });
  const open = line && (line.status === 'due' || line.status === 'overdue');
  const publicPath = line ? `/public/disclosures/${path(line)}` : '';
  return (
    <Console app={app} section="disclosure" title={line ? line.subject_name : t('admin.disclosure')}
      back={{ href: '#/admin/disclosure', label: t('disclosure.back') }}>
      <div class="disclosure" data-testid="disclosure-period">
        {!data && loading.busy && <p class="muted">{t('disclosure.loading')}</p>}
        <Status saving={loading} id="disclosure-load" />
        {line && (
          <>
            <p><span class={`tag ${line.status}`} data-testid="disclosure-status">{t(`disclosure.status.${line.status}`)}</span>{' '}
              {t(`disclosure.kind.${line.period_kind}`)} · {t('disclosure.period', line)}</p>
            <p class="muted">{line.published_at ? t('disclosure.published_on', { day: line.published_at.slice(0, 10) }) : t('disclosure.due', line)}</p>
            {line.status === 'running' && <p class="notice">{t('disclosure.ends_later', line)}</p>}
            {open && data.late_if_published_now && <p class="notice bad" data-testid="disclosure-late-warning">{t('disclosure.will_be_late')}</p>}
            {open && data.figures && <p class="muted">{t('disclosure.preview')} · {t('disclosure.no_personal')}</p>}
            {data.figures && <Figures f={data.figures} />}
            {open && (
              <div class="actions">
                {!confirming && <button type="button" class="primary block" data-testid="disclosure-publish" disabled={!app.online || publishing.busy} onClick={() => setConfirming(true)}>{t('disclosure.publish')}</button>}
                {confirming && (
                  <div class="notice" role="alertdialog" aria-label={t('disclosure.publish')}>
                    <p>{t('disclosure.confirm')}</p>
                    <div class="row">
                      <button type="button" onClick={() => setConfirming(false)} disabled={publishing.busy}>{t('disclosure.cancel')}</button>
                      <button type="button" class="primary" data-testid="disclosure-confirm" onClick={publish} disabled={publishing.busy}>{publishing.busy ? t('disclosure.publishing') : t('disclosure.confirm_yes')}</button>
                    </div>
                  </div>
                )}
              </div>
            )}
            <Status saving={publishing} id="disclosure-publish" />
            {line.status.startsWith('published') && (
              <p class="row">
                <a href={publicPath} target="_blank" rel="noopener" data-testid="disclosure-public">{t('disclosure.public_page')}</a>
                <a href={`${publicPath}/report.pdf`} target="_blank" rel="noopener">{t('disclosure.pdf')}</a>
              </p>
            )}
          </>
        )}
      </div>
    </Console>
  );
}
