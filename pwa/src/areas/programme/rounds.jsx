// The rounds (社区公益微创投): the list, one round (phase, dates, budget, rules, what each
// role can do next) and the form a fund manager opens a round with. Everything here reads
// the replica, so it shows offline at an event; the phase moves only through round.advance.
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { atLeast } from '../../roles.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { todayIso, yuan } from '../../ui/format.js';
import { DATED_PHASES, PHASES, fenOf, managesRound, nextPhase, phaseReached, seesBallots, staffOfRound } from './model.js';

export function roundsOf(app) {
  return [...(app.view.round?.values() || [])].sort((a, b) => (b.year - a.year) || String(b.created_at).localeCompare(String(a.created_at)));
}

export function Missing({ what = 'round', back = '#/rounds' }) {
  return (
    <main class="screen">
      <h1>{t(`programme.missing.${what}`)}</h1>
      <p class="muted">{t('programme.missing_hint')}</p>
      <a class="button" href={back}>{t('programme.back')}</a>
    </main>
  );
}

export function PhaseTag({ phase }) {
  return <span class={`tag phase-${phase}`} data-testid="round-phase" data-phase={phase}>{t(`phase.${phase}`)}</span>;
}

export function RoundList({ app }) {
  const me = app.meta.me;
  const rounds = roundsOf(app);
  return (
    <main class="screen programme">
      <h1>{t('rounds.title')}</h1>
      <p class="muted">{t('rounds.intro')}</p>
      {atLeast(me, 'district_manager') && <a class="button primary block" href="#/rounds/new" data-testid="new-round">+ {t('rounds.new')}</a>}
      {!rounds.length && <p class="muted" data-testid="rounds-none">{app.meta.last_sync_at ? t('rounds.none') : t('events.loading')}</p>}
      <ul class="cards">
        {rounds.map((r) => (
          <li key={r.id}>
            <a class="card" href={`#/rounds/${r.id}`} data-testid="round-card" data-id={r.id}>
              <span class="date">{r.year} · ¥{yuan(r.budget_fen)}</span>
              <span class="title">{r.title}</span>
              <span class="tag-col"><PhaseTag phase={r.phase} />{r.pending && <span class="tag pending">{t('events.pending')}</span>}</span>
            </a>
          </li>
        ))}
      </ul>
      <div class="links">
        <a class="button block" href="#/groups" data-testid="open-groups">{t('groups.title')}</a>
        <a class="button block" href="#/reviews" data-testid="open-reviews">{t('reviews.mine')}</a>
      </div>
    </main>
  );
}

function Dates({ round }) {
  return (
    <ol class="phases" data-testid="round-dates">
      {PHASES.map((p) => {
        const dates = round.phases?.[p];
        const state = p === round.phase ? 'now' : phaseReached(round, p) ? 'done' : 'later';
        return (
          <li key={p} class={state} aria-current={state === 'now' ? 'step' : undefined}>
            <span class="name">{t(`phase.${p}`)}</span>
            {dates && <span class="when">{dates.starts} – {dates.ends}</span>}
          </li>
        );
      })}
    </ol>
  );
}

function Advance({ app, round }) {
  const next = nextPhase(round.phase);
  const [confirming, setConfirming] = useState(false);
  const form = useSubmit();
  if (!next) return null;
  const open = [...(app.view.proposal?.values() || [])].filter((p) => p.round_id === round.id && p.status === 'submitted');
  const blocked = next === 'voting' && open.length > 0;
  const advance = () => form.run(async (intent) => {
    await act('round.advance', { id: round.id, to: next }, 1, { key: intent.key });
    setConfirming(false);
    return true;
  });
  if (next === 'results') {
    return <p class="muted">{t('round.results_by_publishing')} <a href={`#/rounds/${round.id}/results`}>{t('results.title')}</a></p>;
  }
  return (
    <section class="advance">
      {blocked && <p class="notice" data-testid="advance-blocked">{t('round.conclude_first', { n: open.length })}</p>}
      {!confirming && (
        <button type="button" class="block" disabled={blocked || form.saving} onClick={() => setConfirming(true)} data-testid="advance-phase">
          {t('round.advance_to', { phase: t(`phase.${next}`) })}
        </button>
      )}
      {confirming && (
        <div class="notice" role="alertdialog" aria-label={t('round.advance_to', { phase: t(`phase.${next}`) })}>
          <p>{t(next === 'voting' ? 'round.confirm_voting' : 'round.confirm_advance', { phase: t(`phase.${next}`) })}</p>
          <div class="row">
            <button type="button" onClick={() => setConfirming(false)}>{t('programme.cancel')}</button>
            <button type="button" class="primary" onClick={advance} data-testid="advance-confirm">{t('round.advance_yes')}</button>
          </div>
        </div>
      )}
      <FormStatus form={form} />
    </section>
  );
}

export function RoundDetail({ app, params }) {
  const [id] = params;
  const round = app.view.round?.get(id);
  const me = app.meta.me;
  if (!round) return <Missing />;
  const fund = app.view.fund?.get(round.fund_id);
  const proposals = [...(app.view.proposal?.values() || [])].filter((p) => p.round_id === id);
  const needs = [...(app.view.need?.values() || [])].filter((n) => n.round_id === id && n.status !== 'merged');
  const manager = managesRound(me, round);
  const staff = staffOfRound(me, round);
  const flagged = [...(app.view.ballot?.values() || [])].filter((b) => b.round_id === id && b.status === 'duplicate');
  const voting = round.phase === 'voting';
  return (
    <main class="screen programme detail" data-testid="round-detail">
      <a class="back" href="#/rounds">‹ {t('rounds.title')}</a>
      <h1 data-testid="round-title">{round.title}</h1>
      <p><PhaseTag phase={round.phase} /> {round.pending && <span class="tag pending">{t('events.pending')}</span>}</p>
      <dl>
        <dt>{t('round.budget')}</dt><dd data-testid="round-budget">¥{yuan(round.budget_fen)}</dd>
        <dt>{t('round.per_project')}</dt><dd>¥{yuan(round.min_project_fen)} – ¥{yuan(round.max_project_fen)}</dd>
        <dt>{t('round.fund')}</dt><dd>{fund?.name || round.fund_id}</dd>
        {round.phases?.[round.phase] && <><dt>{t('round.this_phase')}</dt><dd>{round.phases[round.phase].starts} – {round.phases[round.phase].ends}</dd></>}
      </dl>
      <nav class="round-links" aria-label={t('round.sections')}>
        <a class="button block" href={`#/rounds/${id}/needs`} data-testid="open-needs">{t('needs.title')} <span class="count">{needs.length}</span></a>
        <a class="button block" href={`#/rounds/${id}/proposals`} data-testid="open-proposals">{t('proposals.title')} <span class="count">{proposals.length}</span></a>
        {voting && staff && <a class="button primary block" href={`#/rounds/${id}/booth`} data-testid="open-booth">{t('booth.title')}</a>}
        {voting && <a class={`button block ${staff ? '' : 'primary'}`} href={`#/rounds/${id}/vote`} data-testid="open-vote">{t('vote.title')}</a>}
        {(voting || phaseReached(round, 'results')) && staff && <a class="button block" href={`#/rounds/${id}/tally`} data-testid="open-tally">{t('tally.title')}</a>}
        {seesBallots(me, round) && phaseReached(round, 'voting') && (
          <a class={`button block ${flagged.length ? 'warn' : ''}`} href={`#/rounds/${id}/ballots`} data-testid="open-ballots">
            {t('ballots.title')}{flagged.length > 0 && <span class="tag waiting">{t('ballots.flagged_n', { n: flagged.length })}</span>}
          </a>
        )}
        {phaseReached(round, 'voting') && <a class="button block" href={`#/rounds/${id}/results`} data-testid="open-results">{t('results.title')}</a>}
      </nav>
      {manager && <Advance app={app} round={round} />}
      {manager && !round.rules_locked && <a class="button block" href={`#/rounds/${id}/edit`} data-testid="edit-round">{t('round.edit')}</a>}
      <h2>{t('round.dates')}</h2>
      <Dates round={round} />
      <h2>{t('round.rules')}</h2>
      <dl>
        <dt>{t('round.voters')}</dt><dd>{t(`voters.${round.voters || 'residents'}`)}</dd>
        <dt>{t('round.method')}</dt><dd>{t('method.knapsack')}</dd>
        <dt>{t('round.locked')}</dt><dd data-testid="round-rules">{round.rules_locked ? t('round.rules_locked') : t('round.rules_open')}</dd>
      </dl>
      {round.criteria?.length > 0 && (
        <details>
          <summary>{t('round.criteria')}</summary>
          <ul class="plain criteria">{round.criteria.map((c) => <li key={c.key}>{c.name} <span class="muted">{c.weight}%</span></li>)}</ul>
        </details>
      )}
      <p><a href={`/public/rounds/${id}`} target="_blank" rel="noopener" data-testid="round-public">{t('round.public_page')}</a></p>
    </main>
  );
}

const DEFAULT_CRITERIA = [
  { key: 'need', name: '回应需求', weight: 30 },
  { key: 'feasibility', name: '可行性', weight: 30 },
  { key: 'budget', name: '预算合理', weight: 20 },
  { key: 'participation', name: '居民参与', weight: 20 },
];

function addDays(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function defaultPhases() {
  const start = todayIso();
  let at = start;
  const out = {};
  for (const [p, days] of [['needs', 14], ['proposals', 21], ['review', 14], ['voting', 7]]) {
    out[p] = { starts: at, ends: addDays(at, days - 1) };
    at = addDays(at, days);
  }
  return out;
}

export function RoundForm({ app, params }) {
  const id = params?.[0];
  const me = app.meta.me;
  const existing = id ? app.view.round?.get(id) : null;
  const funds = [...(app.view.fund?.values() || [])].filter((f) => !me?.station || !f.station || f.station === me.station || me.role !== 'manager');
  const [form, setForm] = useState(() => ({
    fund_id: existing?.fund_id || funds[0]?.id || '',
    title: existing?.title || '',
    year: String(existing?.year || new Date().getFullYear()),
    budget: existing ? String(existing.budget_fen / 100) : '',
    min: existing ? String(existing.min_project_fen / 100) : '',
    max: existing ? String(existing.max_project_fen / 100) : '',
    phases: existing?.phases || defaultPhases(),
    criteria: existing?.criteria || DEFAULT_CRITERIA,
  }));
  const submitting = useSubmit();
  if (id && !existing) return <Missing />;
  const set = (name) => (e) => { setForm({ ...form, [name]: e.currentTarget.value }); submitting.clear(); };
  const setDate = (phase, end) => (e) => {
    setForm({ ...form, phases: { ...form.phases, [phase]: { ...form.phases[phase], [end]: e.currentTarget.value } } });
    submitting.clear();
  };
  const setCriterion = (i, name) => (e) => {
    const criteria = form.criteria.map((c, j) => (j === i ? { ...c, [name]: name === 'weight' ? Number(e.currentTarget.value) : e.currentTarget.value } : c));
    setForm({ ...form, criteria });
    submitting.clear();
  };
  const weights = form.criteria.reduce((s, c) => s + (Number(c.weight) || 0), 0);

  function save(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      const budget = fenOf(form.budget);
      const min = fenOf(form.min);
      const max = fenOf(form.max);
      if (!form.title.trim()) return submitting.fail(t('form.required', { field: t('round.title') }));
      if (!form.fund_id) return submitting.fail(t('form.required', { field: t('round.fund') }));
      if (!(budget > 0)) return submitting.fail(t('round.bad_budget'));
      if (!(min >= 0) || !(max > 0) || min > max || max > budget) return submitting.fail(t('round.bad_min_max'));
      if (weights !== 100) return submitting.fail(t('round.weights_100', { n: weights }));
      for (const p of DATED_PHASES) {
        const d = form.phases[p];
        if (!d?.starts || !d?.ends || d.starts > d.ends) return submitting.fail(t('round.bad_dates', { phase: t(`phase.${p}`) }));
      }
      const values = {
        title: form.title.trim(), budget_fen: budget, min_project_fen: min, max_project_fen: max,
        phases: form.phases, criteria: form.criteria.map((c) => ({ key: c.key, name: c.name.trim(), weight: Number(c.weight) })),
      };
      if (existing) {
        const fields = Object.fromEntries(Object.entries(values).filter(([k, v]) => JSON.stringify(existing[k]) !== JSON.stringify(v)));
        if (!Object.keys(fields).length) return submitting.fail(t('programme.no_changes'));
        await act('round.update', { id, fields }, 1, { key: intent.key });
        go(`/rounds/${id}`, { replace: true });
        return true;
      }
      const station = app.view.fund?.get(form.fund_id)?.station || me?.station;
      if (!station) return submitting.fail(t('round.no_station'));
      await act('round.create', { id: intent.id, fund_id: form.fund_id, station, year: Number(form.year), voters: 'residents', method: 'knapsack', ...values }, 1, { key: intent.key });
      go(`/rounds/${intent.id}`, { replace: true });
      return true;
    });
  }
  const err = (path) => <FieldError fields={submitting.fields} path={existing ? `fields.${path}` : path} />;
  return (
    <main class="screen form programme">
      <a class="back" href={id ? `#/rounds/${id}` : '#/rounds'}>‹ {t('programme.cancel')}</a>
      <h1>{existing ? t('round.edit') : t('rounds.new')}</h1>
      <form onSubmit={save} data-testid="round-form">
        {!existing && (
          <label>{t('round.fund')}
            <select name="fund_id" value={form.fund_id} onChange={set('fund_id')} data-testid="round-fund">
              {funds.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
            </select>
          </label>
        )}
        {!existing && !funds.length && <p class="notice">{t('round.no_fund')}</p>}
        <label>{t('round.title')}<input name="title" value={form.title} onInput={set('title')} maxLength={200} required placeholder={t('round.title_hint')} /></label>
        {err('title')}
        {!existing && <label>{t('round.year')}<input name="year" type="number" inputMode="numeric" value={form.year} onInput={set('year')} min="2020" max="2100" /></label>}
        <label>{t('round.budget_yuan')}<input name="budget" inputMode="decimal" value={form.budget} onInput={set('budget')} required /></label>
        {err('budget_fen')}
        <div class="row">
          <label>{t('round.min_yuan')}<input name="min" inputMode="decimal" value={form.min} onInput={set('min')} required /></label>
          <label>{t('round.max_yuan')}<input name="max" inputMode="decimal" value={form.max} onInput={set('max')} required /></label>
        </div>
        <fieldset class="items">
          <legend>{t('round.dates')}</legend>
          {DATED_PHASES.map((p) => (
            <div class="row" key={p}>
              <label class="mini">{t(`phase.${p}`)} · {t('round.starts')}<input type="date" value={form.phases[p]?.starts || ''} onInput={setDate(p, 'starts')} /></label>
              <label class="mini">{t('round.ends')}<input type="date" value={form.phases[p]?.ends || ''} onInput={setDate(p, 'ends')} /></label>
            </div>
          ))}
        </fieldset>
        <fieldset class="items">
          <legend>{t('round.criteria')} <span class={weights === 100 ? 'muted' : 'bad'}>({t('round.weights_sum', { n: weights })})</span></legend>
          {form.criteria.map((c, i) => (
            <div class="row" key={c.key}>
              <label class="mini">{t('round.criterion')}<input value={c.name} onInput={setCriterion(i, 'name')} maxLength={60} /></label>
              <label class="mini qty">{t('round.weight')}<input type="number" inputMode="numeric" value={c.weight} onInput={setCriterion(i, 'weight')} min="0" max="100" /></label>
            </div>
          ))}
        </fieldset>
        {err('criteria')}
        <FormStatus form={submitting} shown={['title', 'budget_fen', 'criteria', 'fields']} />
        <SaveButton form={submitting} label={existing ? t('programme.save') : t('round.create')} testid="save-round" />
      </form>
    </main>
  );
}
