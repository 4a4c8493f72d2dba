// A reviewer's work: the proposals assigned to them, and the scorecard (each weighted
// criterion 0–10, the weighted score as it is typed, feasible or not with a reason, the
// adjusted price). A reviewer who belongs to the group declares the conflict instead.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { yuan } from '../../ui/format.js';
import { budgetTotal, fenOf, weightedScore, yuanText } from './model.js';
import { Budget } from './proposals.jsx';
import { Missing } from './rounds.jsx';

export function MyReviews({ app }) {
  const me = app.meta.me;
  const mine = [...(app.view.review?.values() || [])].filter((r) => r.reviewer === me?.user)
    .sort((a, b) => (a.status === 'assigned' ? -1 : 1) - (b.status === 'assigned' ? -1 : 1));
  return (
    <main class="screen programme">
      <a class="back" href="#/rounds">‹ {t('rounds.title')}</a>
      <h1>{t('reviews.mine')}</h1>
      {!mine.length && <p class="muted" data-testid="reviews-none">{t('reviews.none')}</p>}
      <ul class="cards">
        {mine.map((r) => {
          const p = app.view.proposal?.get(r.proposal_id);
          return (
            <li key={r.id}>
              <a class="card" href={`#/reviews/${r.id}`} data-testid="review-card" data-id={r.id}>
                <span class="date">{app.view.round?.get(r.round_id)?.title || ''}</span>
                <span class="title">{p?.title || r.proposal?.title || r.proposal_id}</span>
                <span class="tag-col"><span class={`tag ${r.status === 'assigned' ? 'waiting' : 'ok'}`}>{t(`review.status.${r.status}`)}</span>{r.pending && <span class="tag pending">{t('events.pending')}</span>}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </main>
  );
}

/** The proposal as the reviewer reads it. */
function Reviewed({ app, proposal }) {
  const needs = proposal.needs || (proposal.need_ids || []).map((id) => app.view.need?.get(id)).filter(Boolean);
  return (
    <details class="reviewed" open data-testid="reviewed-proposal">
      <summary><span><strong>{proposal.title}</strong> · ¥{yuan(proposal.budget_total_fen ?? budgetTotal(proposal.budget_lines))}</span></summary>
      <dl>
        {proposal.group && <><dt>{t('proposal.group')}</dt><dd>{proposal.group}</dd></>}
        <dt>{t('proposal.needs')}</dt><dd>{needs.length ? needs.map((n) => n.public_title || t(`need.cat.${n.category}`)).join('、') : '—'}</dd>
        <dt>{t('proposal.beneficiaries')}</dt><dd>{proposal.beneficiaries || '—'} {proposal.beneficiary_count ? `(${t('proposal.people', { n: proposal.beneficiary_count })})` : ''}</dd>
        <dt>{t('proposal.activities')}</dt><dd class="notes">{proposal.activities || '—'}</dd>
        <dt>{t('proposal.team')}</dt><dd class="notes">{proposal.team || '—'}</dd>
      </dl>
      <Budget lines={proposal.budget_lines || []} total={proposal.budget_total_fen ?? budgetTotal(proposal.budget_lines)} />
      {proposal.indicators?.length > 0 && <ul class="plain">{proposal.indicators.map((i) => <li key={i.key}>{i.name}: <strong>{i.target}</strong> {i.unit}</li>)}</ul>}
      {proposal.timeline?.length > 0 && <ul class="plain">{proposal.timeline.map((s) => <li key={s.key}><span class="muted">{s.due}</span> {s.title}</li>)}</ul>}
    </details>
  );
}

export function Scorecard({ app, params }) {
  const [id] = params;
  const review = app.view.review?.get(id);
  // what is reviewed: the copy the review carries (a reviewer of another station holds no
  // proposal record), or the proposal itself on a phone that holds it
  const proposal = review && (review.proposal || app.view.proposal?.get(review.proposal_id));
  const round = review && app.view.round?.get(review.round_id);
  const start = () => ({
    scores: { ...(review?.scores || {}) }, feasible: review?.feasible == null ? '' : review.feasible ? 'yes' : 'no',
    reason: review?.reason || '', price: yuanText(review?.adjusted_price_fen ?? proposal?.budget_total_fen ?? null),
  });
  const [form, setForm] = useState(start);
  // the review may reach the phone after the screen opened (a sync): start from it then
  const seeded = useRef(!!review);
  useEffect(() => { if (review && !seeded.current) { seeded.current = true; setForm(start()); } }, [review?.id]);
  const [declaring, setDeclaring] = useState(false);
  const [conflictWhy, setConflictWhy] = useState('');
  const submitting = useSubmit();
  const declining = useSubmit();
  if (!review) return <Missing what="review" back="#/reviews" />;
  const criteria = round?.criteria || [];
  const score = weightedScore(criteria, form.scores);
  const done = review.status !== 'assigned';
  const upd = (patch) => { setForm({ ...form, ...patch }); submitting.clear(); };

  function save(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      if (score === null) return submitting.fail(t('review.score_all'));
      if (form.feasible === '') return submitting.fail(t('review.pick_feasible'));
      if (!form.reason.trim()) return submitting.fail(t('form.required', { field: t('review.reason') }));
      const price = fenOf(form.price);
      if (!(price > 0)) return submitting.fail(t('review.bad_price'));
      const scores = Object.fromEntries(criteria.map((c) => [c.key, Number(form.scores[c.key])]));
      await act('review.submit', { id, scores, feasible: form.feasible === 'yes', reason: form.reason.trim(), adjusted_price_fen: price }, 1, { key: intent.key });
      go('/reviews', { replace: true });
      return true;
    });
  }
  const decline = () => declining.run(async (intent) => {
    if (!conflictWhy.trim()) return declining.fail(t('form.required', { field: t('review.conflict_reason') }));
    await act('review.declare_conflict', { id, reason: conflictWhy.trim() }, 1, { key: intent.key });
    go('/reviews', { replace: true });
    return true;
  });
  return (
    <main class="screen form programme" data-testid="scorecard">
      <a class="back" href="#/reviews">‹ {t('reviews.mine')}</a>
      <h1>{t('review.scorecard')}</h1>
      {proposal && <Reviewed app={app} proposal={proposal} />}
      {done && <p class="notice" data-testid="review-done">{t(`review.status.${review.status}`)}{review.weighted_score != null && ` · ${t('review.score', { n: review.weighted_score })}`}</p>}
      {!done && (
        <section class="conflict-box">
          {!declaring && <button type="button" class="small warn" onClick={() => setDeclaring(true)} data-testid="declare-conflict-open">{t('review.declare_conflict')}</button>}
          {declaring && (
            <>
              <label>{t('review.conflict_reason')}<input value={conflictWhy} onInput={(e) => { setConflictWhy(e.currentTarget.value); declining.clear(); }} maxLength={500} data-testid="conflict-reason" /></label>
              <button type="button" class="block warn" onClick={decline} disabled={declining.saving} data-testid="declare-conflict">{t('review.declare_conflict')}</button>
              <FormStatus form={declining} />
            </>
          )}
          <p class="muted small-note">{t('review.conflict_hint')}</p>
        </section>
      )}
      {!done && (
        <form onSubmit={save} data-testid="scorecard-form">
          {criteria.map((c) => (
            <label key={c.key} class="criterion">
              <span>{c.name} <span class="muted">({c.weight}%)</span></span>
              <input type="number" inputMode="numeric" min="0" max="10" step="1" value={form.scores[c.key] ?? ''} data-testid={`score-${c.key}`}
                onInput={(e) => upd({ scores: { ...form.scores, [c.key]: e.currentTarget.value === '' ? '' : Number(e.currentTarget.value) } })} />
            </label>
          ))}
          <p class="totals" data-testid="weighted-score" aria-live="polite">{t('review.weighted')}: <strong>{score === null ? '—' : score}</strong> / 100</p>
          <div class="segmented row" role="group" aria-label={t('review.feasible_q')}>
            {['yes', 'no'].map((v) => (
              <button type="button" key={v} class={form.feasible === v ? 'on' : ''} aria-pressed={form.feasible === v}
                onClick={() => upd({ feasible: v })} data-testid={`feasible-${v}`}>{t(v === 'yes' ? 'review.feasible' : 'review.infeasible')}</button>
            ))}
          </div>
          <label>{t('review.reason')}<textarea rows="3" value={form.reason} onInput={(e) => upd({ reason: e.currentTarget.value })} maxLength={2000} data-testid="review-reason" /></label>
          <label>{t('review.adjusted_yuan')}<input inputMode="decimal" value={form.price} onInput={(e) => upd({ price: e.currentTarget.value })} data-testid="review-price" /></label>
          <FormStatus form={submitting} />
          <SaveButton form={submitting} label={t('review.submit')} testid="save-review" />
        </form>
      )}
    </main>
  );
}
