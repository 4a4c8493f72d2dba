// One project (#/projects/ID): progress with its milestones (weights and progress), the
// indicators against their targets, the grant's tranches with their disbursement's status
// and "request" (the disbursement then waits on the funds screen for its approval and its
// payment by two other people), progress reports with photos, beneficiaries' feedback,
// supervision visits with their follow-up, and the evaluation with its PDF.
import { useEffect, useState } from 'preact/hooks';
import { pick, t } from '../../i18n.js';
import { act } from '../../state.js';
import { send } from '../../sync/transport.js';
import { getMeta } from '../../sync/store.js';
import { AttachmentList } from '../../ui/photos.jsx';
import { dateLabel, timeOf, todayIso, yuan } from '../../ui/format.js';
import {
  SCORE_KEYS, feedbackOf, grantOf, holdsProjectFund, indicatorRows, mayEvaluate, meanScore, milestonesOf,
  reportsOf, runsProject, tranchesOf, trancheState, visitsOf,
} from './model.js';
import { BackTo, Missing, ProgressBar } from './parts.jsx';

const SHOWN = 5;
/** A day ("2026-11-28", taken offline) or a moment. */
const whenOf = (s) => (s && s.length === 10 ? dateLabel(s) : timeOf(s));
const SAVED = ['created', 'report', 'visit', 'indicator', 'tranche', 'evaluation', 'grant', 'milestones'];

export function ProjectDetail({ app, params, query }) {
  const [id] = params;
  const p = app.view.service_project.get(id);
  const me = app.meta.me;
  // "已保存…" after a form, for a few seconds; the address loses ?saved= at once, so a reload
  // or a language switch does not say it again.
  const [saved, setSaved] = useState(() => (SAVED.includes(query?.get('saved')) ? query.get('saved') : null));
  useEffect(() => {
    if (!saved) return undefined;
    history.replaceState(null, '', `#/projects/${encodeURIComponent(id)}`);
    const timer = setTimeout(() => setSaved(null), 6000);
    return () => clearTimeout(timer);
  }, [saved]);
  if (!p) return <Missing />;
  const fund = app.view.fund.get(p.fund_id);
  const runs = runsProject(me, p, fund) && p.status !== 'closed';
  const active = runs && p.status === 'active'; // closing: no more progress or tranche requests
  const milestones = milestonesOf(app.view, id);
  const station = p.station && app.view.station.get(p.station);
  return (
    <main class="screen project" data-testid="project-detail" data-id={id}>
      <BackTo href="#/projects" label={t('sp.title')} />
      <h1 data-testid="project-name">{p.name}</h1>
      {saved && <p class="ok" role="status" data-testid="form-saved">✓ {t(`sp.saved.${saved}`)}</p>}
      <div class="tags">
        <span class={`tag kind-${p.kind}`}>{t(`sp.kind.${p.kind}`)}</span>
        <span class="tag">{t(`sp.cat.${p.category}`)}</span>
        <span class={`tag ${p.status === 'active' ? 'ok' : 'waiting'}`} data-testid="project-status">{t(`sp.status.${p.status}`)}</span>
        {p.pending && <span class="tag pending">{t('events.pending')}</span>}
      </div>
      <p class="muted">{[station?.name || p.station, fund?.name].filter(Boolean).join(' · ')}</p>
      {p.summary && <p>{p.summary}</p>}
      <div class="project-progress">
        <span>{t('sp.progress')}</span>
        <ProgressBar value={p.progress} label={t('sp.progress')} testid="detail-progress" />
      </div>
      {runs && (
        <nav class="project-actions" aria-label={t('sp.actions')}>
          {active && <a class="button" href={`#/projects/${id}/report`} data-testid="go-report">{t('sp.report')}</a>}
          <a class="button" href={`#/projects/${id}/feedback`} data-testid="go-feedback">{t('sp.feedback')}</a>
          <a class="button" href={`#/projects/${id}/visit`} data-testid="go-visit">{t('sp.visit')}</a>
          <a class="button" href={`#/projects/${id}/indicator`} data-testid="go-indicator">{t('sp.indicator_record')}</a>
        </nav>
      )}
      <Milestones app={app} milestones={milestones} edit={runs ? `#/projects/${id}/milestones` : null} />
      <Indicators app={app} p={p} />
      <Tranches app={app} p={p} fund={fund} runs={active} />
      <Reports app={app} p={p} />
      <Feedback app={app} p={p} />
      <Visits app={app} p={p} runs={runs} />
      <Evaluation app={app} p={p} fund={fund} />
      <a class="button block" href={`/public/projects/${id}`} target="_blank" rel="noopener" data-testid="public-page">{t('sp.public_page')}</a>
    </main>
  );
}

function Milestones({ milestones, edit }) {
  const total = milestones.reduce((s, m) => s + (Number(m.weight) || 0), 0);
  return (
    <section data-testid="milestones">
      <h2>{t('sp.milestones', { n: milestones.length })}</h2>
      {milestones.length === 0 && <p class="muted">{t('sp.no_milestones')}</p>}
      <ul class="plain">
        {milestones.map((m) => (
          <li key={m.id} class="item-card milestone" data-testid="milestone" data-id={m.id}>
            <div class="row-between"><strong>{m.title}</strong><span class="tag" title={t('sp.weight')}>{t('sp.weight_short', { w: m.weight })}</span></div>
            {m.due && <div class="muted fine">{t('sp.due', { date: dateLabel(m.due) })}</div>}
            <ProgressBar value={m.progress} label={`${m.title} ${t('sp.progress')}`} testid="milestone-progress" small />
          </li>
        ))}
      </ul>
      {milestones.length > 0 && total !== 100 && <p class="notice">{t('sp.weights_off', { n: total })}</p>}
      {edit && <a class="button block" href={edit} data-testid="go-milestones">{t('sp.milestones_edit')}</a>}
    </section>
  );
}

function Indicators({ app, p }) {
  const rows = indicatorRows(app.view, p);
  if (!rows.length) return null;
  return (
    <section data-testid="indicators">
      <h2>{t('sp.indicators')}</h2>
      <ul class="plain">
        {rows.map((r) => (
          <li key={r.key} class="item-card" data-testid="indicator" data-key={r.key}>
            <div class="row-between">
              <strong>{r.name}</strong>
              <span data-testid="indicator-value">{r.value === null ? '—' : r.value} / {r.target} {r.unit}</span>
            </div>
            {r.share !== null && <ProgressBar value={r.share} label={r.name} small />}
            {r.rows.length > 0 && <div class="muted fine">{r.rows.map((a) => `${a.period}: ${a.value}${a.pending ? ' *' : ''}`).join(' · ')}</div>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Tranches({ app, p, fund, runs }) {
  const me = app.meta.me;
  const grant = grantOf(app.view, p.id);
  const tranches = tranchesOf(app.view, p.id);
  const federation = holdsProjectFund(me, fund);
  if (!grant && !tranches.length) {
    if (!federation || p.status === 'closed') return null;
    return (
      <section data-testid="tranches">
        <h2>{t('sp.grant')}</h2>
        <p class="muted">{t('sp.no_grant')}</p>
        <a class="button block" href={`#/projects/${p.id}/grant`} data-testid="go-grant">{t('sp.grant_sign')}</a>
      </section>
    );
  }
  const paid = tranches.filter((tr) => trancheState(app.view, tr) === 'paid').reduce((s, tr) => s + tr.amount_fen, 0);
  // Who asks for a fund's money (funds.request_disbursement): its station's staff, or the
  // federation; a district's or the city's fund has no station, so the federation asks.
  const asks = federation || (!!fund?.station && fund.station === me?.station);
  return (
    <section data-testid="tranches">
      <h2>{t('sp.grant')}</h2>
      {grant && <p>{t('sp.grant_amount', { amount: yuan(grant.amount_fen) })} · {t('sp.paid_so_far', { amount: yuan(paid) })}</p>}
      <ul class="plain">
        {tranches.map((tr, i) => {
          const state = trancheState(app.view, tr);
          const milestone = tr.milestone_id && app.view.milestone.get(tr.milestone_id);
          const ready = !milestone || (Number(milestone.progress) || 0) >= 100;
          const open = runs && ['planned', 'rejected'].includes(state) && !tr.pending;
          const requestable = open && asks;
          return (
            <li key={tr.id} class="item-card tranche" data-testid="tranche" data-id={tr.id} data-status={state}>
              <div class="row-between">
                <strong>{t('sp.tranche_n', { n: i + 1 })} · ¥{yuan(tr.amount_fen)}</strong>
                <span class={`tag ${state === 'paid' ? 'ok' : state === 'rejected' ? 'bad' : 'waiting'}`} data-testid="tranche-status">{t(`sp.tranche.${state}`)}</span>
              </div>
              {milestone && <div class="muted fine">{t('sp.tranche_after', { title: milestone.title })}</div>}
              {tr.pending && <span class="tag pending">{t('events.pending')}</span>}
              {requestable && (ready
                ? <a class="button block" href={`#/projects/${p.id}/tranche/${tr.id}`} data-testid="request-tranche">{t('sp.request_tranche')}</a>
                : <p class="muted fine" data-testid="tranche-wait">{t('sp.tranche_wait', { title: milestone.title })}</p>)}
              {open && !asks && <p class="muted fine" data-testid="tranche-by-federation">{t('sp.tranche_by_federation')}</p>}
              {federation && ['requested', 'approved'].includes(state) && (
                <a class="button block" href="#/funds" data-testid="tranche-to-funds">{t(state === 'requested' ? 'sp.to_approve' : 'sp.to_pay')}</a>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function Reports({ app, p }) {
  const [all, setAll] = useState(false);
  const reports = reportsOf(app.view, p.id);
  if (!reports.length) return null;
  const shown = all ? reports : reports.slice(0, SHOWN);
  return (
    <section data-testid="reports">
      <h2>{t('sp.reports', { n: reports.length })}</h2>
      <ul class="plain">
        {shown.map((r) => (
          <li key={r.id} class="item-card" data-testid="report" data-id={r.id}>
            <div class="row-between"><strong>{app.view.milestone.get(r.milestone_id)?.title || ''}</strong><span>{r.progress}%</span></div>
            {r.text && <p class="pre">{r.text}</p>}
            <AttachmentList app={app} refs={r.attachments || []} testid="report-photos" />
            <div class="muted fine">{timeOf(r.at)}{r.pending && ` · ${t('events.pending')}`}</div>
          </li>
        ))}
      </ul>
      {!all && reports.length > SHOWN && <button type="button" class="block" onClick={() => setAll(true)}>{t('sp.show_all', { n: reports.length })}</button>}
    </section>
  );
}

function Feedback({ app, p }) {
  const feedback = feedbackOf(app.view, p.id);
  if (!feedback.length) return null;
  return (
    <section data-testid="feedback">
      <h2>{t('sp.feedback_list', { n: feedback.length })}</h2>
      <p>{t('sp.mean_score', { s: meanScore(feedback) })}</p>
      <ul class="plain">
        {feedback.slice(0, SHOWN).map((f) => (
          <li key={f.id} class="item-card" data-testid="feedback-item">
            <div class="row-between"><span aria-label={t('sp.score_of', { n: f.score })}>{'★'.repeat(f.score)}<span class="muted">{'☆'.repeat(5 - f.score)}</span></span>
              <span class="muted fine">{whenOf(f.taken_at)}{f.pending && ` · ${t('events.pending')}`}</span></div>
            {f.comment && <p class="pre">{f.comment}</p>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Visits({ app, p, runs }) {
  const visits = visitsOf(app.view, p.id);
  if (!visits.length) return null;
  const today = todayIso();
  return (
    <section data-testid="visits">
      <h2>{t('sp.visits', { n: visits.length })}</h2>
      <ul class="plain">
        {visits.map((v) => {
          const late = v.follow_up_due && !v.follow_up_done_at && v.follow_up_due < today;
          return (
            <li key={v.id} class="item-card" data-testid="visit-item" data-id={v.id}>
              <div class="row-between"><strong>{dateLabel((v.visited_at || '').slice(0, 10))}</strong>
                <span class={`tag ${v.rating === 'good' ? 'ok' : v.rating === 'serious' ? 'bad' : 'waiting'}`}>{t(`sp.rating.${v.rating}`)}</span></div>
              {v.findings && <p class="pre">{v.findings}</p>}
              {v.follow_up && <p class="pre"><span class="muted">{t('sp.follow_up')}:</span> {v.follow_up}</p>}
              {v.follow_up_due && (
                <p class={late ? 'bad' : 'muted'} data-testid="follow-up-due">
                  {v.follow_up_done_at ? `✓ ${t('sp.follow_up_done_at', { date: timeOf(v.follow_up_done_at) })}` : t(late ? 'sp.follow_up_late' : 'sp.follow_up_by', { date: dateLabel(v.follow_up_due) })}
                </p>
              )}
              <AttachmentList app={app} refs={v.attachments || []} testid="visit-photos" />
              {runs && v.follow_up_due && !v.follow_up_done_at && !v.pending && (
                <button type="button" class="block" data-testid="follow-up-done" onClick={() => act('visit.follow_up_done', { id: v.id })}>{t('sp.mark_follow_up_done')}</button>
              )}
              {v.pending && <span class="tag pending">{t('events.pending')}</span>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** GET the evaluation PDF with the device token (a plain link cannot send it); open or save it. */
export async function downloadEvaluation(projectId) {
  const token = await getMeta('token');
  const response = await send(`/api/v1/service-projects/${encodeURIComponent(projectId)}/evaluation.pdf`, {
    headers: { Authorization: `Bearer ${token}` }, cache: 'no-store',
  });
  if (response.status !== 200) {
    const body = await response.json().catch(() => null);
    throw new Error(body ? pick(body.message) || body.code : `HTTP ${response.status}`);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `evaluation-${projectId}.pdf`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return blob;
}

function Evaluation({ app, p, fund }) {
  const me = app.meta.me;
  const ev = app.view.evaluation.get(p.id);
  const [message, setMessage] = useState('');
  async function pdf() {
    if (!app.online) return setMessage(t('sp.pdf_offline'));
    setMessage(t('sp.pdf_loading'));
    try {
      await downloadEvaluation(p.id);
      setMessage('');
    } catch (err) {
      setMessage(t('sp.pdf_failed', { msg: err.message }));
    }
  }
  const mayClose = holdsProjectFund(me, fund);
  return (
    <section data-testid="evaluation">
      <h2>{t('sp.evaluation')}</h2>
      {!ev && <p class="muted">{t('sp.not_evaluated')}</p>}
      {ev && (
        <div class="item-card" data-testid="evaluation-result">
          <div class="row-between"><strong>{t('sp.overall')}</strong><strong data-testid="evaluation-overall">{ev.overall ?? '—'}</strong></div>
          <ul class="plain scores">
            {SCORE_KEYS.map((k) => <li key={k} class="row-between"><span>{t(`sp.score.${k}`)}</span><span>{ev.scores?.[k] ?? '—'}</span></li>)}
            {ev.spent_fen !== undefined && ev.spent_fen !== null && <li class="row-between"><span>{t('sp.spent')}</span><span>¥{yuan(ev.spent_fen)}</span></li>}
          </ul>
          {ev.conclusion && <p class="pre">{ev.conclusion}</p>}
          {ev.public_summary && <p class="pre"><span class="muted">{t('sp.public_summary')}:</span> {ev.public_summary}</p>}
          {ev.pending && <span class="tag pending">{t('events.pending')}</span>}
          {!ev.pending && <button type="button" class="block" onClick={pdf} data-testid="evaluation-pdf">{t('sp.pdf')}</button>}
          {message && <p class="notice" role="status" data-testid="pdf-message">{message}</p>}
        </div>
      )}
      {!ev && mayEvaluate(me, p, fund) && p.status !== 'closed' && (
        <a class="button block" href={`#/projects/${p.id}/evaluate`} data-testid="go-evaluate">{t('sp.evaluate')}</a>
      )}
      {ev && !ev.pending && mayClose && p.status !== 'closed' && (
        <button type="button" class="block" data-testid="close-project"
          onClick={() => confirm(t('sp.close_confirm')) && act('service_project.close', { id: p.id })}>{t('sp.close')}</button>
      )}
    </section>
  );
}
