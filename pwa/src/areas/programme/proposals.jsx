// Proposals: a round's list, one proposal (its budget, indicators, timeline, every version
// kept, the review's outcome and reason; for fund managers the reviewers and the
// conclusion) and the form a group member fills (budget lines whose total the phone shows
// as it is typed; the server computes the same).
import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../admin/api.js';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { dateTimeOf, yuan } from '../../ui/format.js';
import { groupsOf, knownPeople, personName } from './groups.jsx';
import { budgetTotal, fenOf, lineTotal, managesRound, yuanText } from './model.js';
import { Missing, PhaseTag } from './rounds.jsx';

export function proposalsOf(app, roundId) {
  return [...(app.view.proposal?.values() || [])].filter((p) => p.round_id === roundId)
    .sort((a, b) => String(a.submitted_at).localeCompare(String(b.submitted_at)));
}

export function StatusTag({ proposal }) {
  const tone = { feasible: 'ok', funded: 'ok', infeasible: 'void', unfunded: 'void', withdrawn: 'void', submitted: 'waiting' }[proposal.status] || '';
  return <span class={`tag ${tone}`} data-testid="proposal-status" data-status={proposal.status}>{t(`proposal.status.${proposal.status}`)}</span>;
}

export function ProposalList({ app, params }) {
  const [roundId] = params;
  const round = app.view.round?.get(roundId);
  const me = app.meta.me;
  if (!round) return <Missing />;
  const proposals = proposalsOf(app, roundId);
  const mine = groupsOf(app).filter((g) => g.members?.includes(me?.user));
  const open = round.phase === 'proposals';
  return (
    <main class="screen programme">
      <a class="back" href={`#/rounds/${roundId}`}>‹ {round.title}</a>
      <h1>{t('proposals.title')}</h1>
      <p><PhaseTag phase={round.phase} /></p>
      {open && mine.length > 0 && <a class="button primary block" href={`#/rounds/${roundId}/proposals/new`} data-testid="new-proposal">+ {t('proposals.new')}</a>}
      {open && !mine.length && <p class="notice">{t('proposals.need_group')} <a href="#/groups">{t('groups.title')}</a></p>}
      {!open && <p class="muted">{t('proposals.closed')}</p>}
      {!proposals.length && <p class="muted">{t('proposals.none')}</p>}
      <ul class="cards">
        {proposals.map((p) => (
          <li key={p.id}>
            <a class="card" href={`#/proposals/${p.id}`} data-testid="proposal-card" data-id={p.id}>
              <span class="date">{app.view.community_group?.get(p.group_id)?.name || ''} · ¥{yuan(p.adjusted_price_fen ?? p.budget_total_fen)}</span>
              <span class="title">{p.title}</span>
              <span class="tag-col"><StatusTag proposal={p} />{p.pending && <span class="tag pending">{t('events.pending')}</span>}</span>
            </a>
          </li>
        ))}
      </ul>
    </main>
  );
}

export function Budget({ lines, total }) {
  return (
    <table class="budget" data-testid="proposal-budget">
      <thead><tr><th scope="col">{t('proposal.item')}</th><th scope="col" class="n">{t('proposal.qty')}</th><th scope="col" class="n">{t('proposal.unit_cost')}</th><th scope="col" class="n">{t('proposal.line_total')}</th></tr></thead>
      <tbody>
        {lines.map((l, i) => <tr key={i}><td>{l.item}</td><td class="n">{l.quantity}</td><td class="n">{yuan(l.unit_cost_fen)}</td><td class="n">{yuan(lineTotal(l))}</td></tr>)}
      </tbody>
      <tfoot><tr><th scope="row" colSpan="3">{t('proposal.total')}</th><td class="n" data-testid="proposal-total">¥{yuan(total)}</td></tr></tfoot>
    </table>
  );
}

function Reviewers({ app, proposal, round }) {
  const reviews = [...(app.view.review?.values() || [])].filter((r) => r.proposal_id === proposal.id);
  const group = app.view.community_group?.get(proposal.group_id);
  const [who, setWho] = useState('');
  const assign = useSubmit();
  const conclude = useSubmit();
  const submitted = reviews.filter((r) => r.status === 'submitted');
  const mean = submitted.length ? submitted.reduce((s, r) => s + (r.weighted_score || 0), 0) / submitted.length : null;
  const suggested = submitted.length ? Math.round(submitted.reduce((s, r) => s + (r.adjusted_price_fen ?? proposal.budget_total_fen), 0) / submitted.length) : proposal.budget_total_fen;
  const [decision, setDecision] = useState({ feasible: '', price: yuanText(suggested), reason: '' });
  const doAssign = () => assign.run(async (intent) => {
    const reviewer = who.trim();
    if (!reviewer) return assign.fail(t('form.required', { field: t('review.reviewer') }));
    if (group?.members?.includes(reviewer)) return assign.fail(t('review.conflict_member'));
    await act('review.assign', { id: intent.id, proposal_id: proposal.id, reviewer }, 1, { key: intent.key });
    setWho('');
    return true;
  });
  const doConclude = () => conclude.run(async (intent) => {
    if (decision.feasible === '') return conclude.fail(t('review.pick_feasible'));
    const feasible = decision.feasible === 'yes';
    const price = fenOf(decision.price);
    if (feasible && !(price >= round.min_project_fen && price <= round.max_project_fen)) {
      return conclude.fail(t('review.price_range', { min: yuan(round.min_project_fen), max: yuan(round.max_project_fen) }));
    }
    if (!decision.reason.trim()) return conclude.fail(t('form.required', { field: t('review.reason') }));
    await act('proposal.conclude', { id: proposal.id, feasible, adjusted_price_fen: feasible ? price : null, reason: decision.reason.trim() }, 1, { key: intent.key });
    return true;
  });
  return (
    <section class="reviewers" data-testid="proposal-reviewers">
      <h2>{t('review.reviews')}</h2>
      <ul class="plain">
        {reviews.map((r) => (
          <li key={r.id} class={`review-line ${r.status}`} data-testid="review-line" data-status={r.status}>
            <strong>{personName(app, r.reviewer)}</strong> <span class="tag">{t(`review.status.${r.status}`)}</span>
            {r.status === 'submitted' && <span> · {t('review.score', { n: r.weighted_score })} · {r.feasible ? t('review.feasible') : t('review.infeasible')} · ¥{yuan(r.adjusted_price_fen)}</span>}
            {r.reason && <p class="muted small-note">{r.reason}</p>}
          </li>
        ))}
      </ul>
      {proposal.status === 'submitted' && round.phase === 'review' && (
        <>
          <label>{t('review.assign')}
            <input list="programme-people" value={who} onInput={(e) => { setWho(e.currentTarget.value); assign.clear(); }} data-testid="assign-reviewer-input" placeholder={t('groups.member_hint')} />
          </label>
          <datalist id="programme-people">{knownPeople(app).map(([id, name]) => <option key={id} value={id}>{name}</option>)}</datalist>
          <button type="button" class="block" onClick={doAssign} disabled={assign.saving} data-testid="assign-reviewer">{t('review.assign_button')}</button>
          <FormStatus form={assign} />
          <fieldset class="items conclude">
            <legend>{t('review.conclude')}</legend>
            {mean !== null && <p class="muted">{t('review.mean', { n: Math.round(mean * 10) / 10, k: submitted.length })}</p>}
            <div class="segmented row" role="group" aria-label={t('review.feasible_q')}>
              {['yes', 'no'].map((v) => (
                <button type="button" key={v} class={decision.feasible === v ? 'on' : ''} aria-pressed={decision.feasible === v}
                  onClick={() => setDecision({ ...decision, feasible: v })} data-testid={`conclude-${v}`}>{t(v === 'yes' ? 'review.feasible' : 'review.infeasible')}</button>
              ))}
            </div>
            {decision.feasible === 'yes' && <label>{t('review.adjusted_yuan')}<input inputMode="decimal" value={decision.price} onInput={(e) => setDecision({ ...decision, price: e.currentTarget.value })} data-testid="conclude-price" /></label>}
            <label>{t('review.reason_group')}<textarea rows="3" value={decision.reason} onInput={(e) => setDecision({ ...decision, reason: e.currentTarget.value })} maxLength={2000} data-testid="conclude-reason" /></label>
            <button type="button" class="primary block" onClick={doConclude} disabled={conclude.saving} data-testid="conclude-save">{t('review.conclude_button')}</button>
            <FormStatus form={conclude} />
          </fieldset>
        </>
      )}
    </section>
  );
}

export function ProposalDetail({ app, params }) {
  const [id] = params;
  const proposal = app.view.proposal?.get(id);
  const me = app.meta.me;
  const withdraw = useSubmit();
  if (!proposal) return <Missing what="proposal" />;
  const round = app.view.round?.get(proposal.round_id);
  const group = app.view.community_group?.get(proposal.group_id);
  const member = group?.members?.includes(me?.user);
  const versions = [...(app.view.proposal_version?.values() || [])].filter((v) => v.proposal_id === id).sort((a, b) => b.version - a.version);
  const needs = (proposal.need_ids || []).map((n) => app.view.need?.get(n)).filter(Boolean);
  const editable = member && round?.phase === 'proposals' && proposal.status === 'submitted';
  const doWithdraw = () => withdraw.run(async (intent) => {
    if (!confirm(t('proposal.withdraw_confirm'))) return false;
    await act('proposal.withdraw', { id, reason: '' }, 1, { key: intent.key });
    return true;
  });
  return (
    <main class="screen programme detail" data-testid="proposal-detail">
      <a class="back" href={`#/rounds/${proposal.round_id}/proposals`}>‹ {t('proposals.title')}</a>
      <h1 data-testid="proposal-title">{proposal.title}</h1>
      <p><StatusTag proposal={proposal} /> <span class="muted">{t('proposal.version', { n: proposal.version })}</span> {proposal.pending && <span class="tag pending">{t('events.pending')}</span>}</p>
      {proposal.review_reason && (
        <div class="notice" data-testid="proposal-outcome">
          <strong>{t('proposal.outcome')}</strong>: {t(`proposal.status.${proposal.status}`)}
          {proposal.adjusted_price_fen != null && <> · {t('proposal.adjusted', { amount: yuan(proposal.adjusted_price_fen) })}</>}
          {proposal.review_score != null && <> · {t('review.score', { n: proposal.review_score })}</>}
          <p>{proposal.review_reason}</p>
        </div>
      )}
      <dl>
        <dt>{t('proposal.group')}</dt><dd>{group?.name || proposal.group_id}</dd>
        <dt>{t('proposal.needs')}</dt><dd>{needs.length ? needs.map((n) => n.public_title || t(`need.cat.${n.category}`)).join('、') : '—'}</dd>
        <dt>{t('proposal.beneficiaries')}</dt><dd>{proposal.beneficiaries} {proposal.beneficiary_count ? `(${t('proposal.people', { n: proposal.beneficiary_count })})` : ''}</dd>
        <dt>{t('proposal.activities')}</dt><dd class="notes">{proposal.activities}</dd>
        <dt>{t('proposal.team')}</dt><dd class="notes">{proposal.team || '—'}</dd>
      </dl>
      <h2>{t('proposal.budget')}</h2>
      <Budget lines={proposal.budget_lines || []} total={proposal.budget_total_fen ?? budgetTotal(proposal.budget_lines)} />
      {proposal.indicators?.length > 0 && (
        <>
          <h2>{t('proposal.indicators')}</h2>
          <ul class="plain">{proposal.indicators.map((i) => <li key={i.key}>{i.name}: <strong>{i.target}</strong> {i.unit}</li>)}</ul>
        </>
      )}
      {proposal.timeline?.length > 0 && (
        <>
          <h2>{t('proposal.timeline')}</h2>
          <ul class="plain">{proposal.timeline.map((s) => <li key={s.key}><span class="muted">{s.due}</span> {s.title}</li>)}</ul>
        </>
      )}
      {editable && (
        <div class="actions">
          <a class="button primary" href={`#/proposals/${id}/edit`} data-testid="edit-proposal">{t('proposal.edit')}</a>
          <button type="button" class="danger" onClick={doWithdraw} data-testid="withdraw-proposal">{t('proposal.withdraw')}</button>
        </div>
      )}
      <FormStatus form={withdraw} />
      {versions.length > 0 && (
        <details data-testid="proposal-versions">
          <summary>{t('proposal.versions', { n: versions.length })}</summary>
          <ul class="plain versions">
            {versions.map((v) => (
              <li key={v.id} data-testid="proposal-version">
                <strong>{t('proposal.version', { n: v.version })}</strong> <span class="muted">{dateTimeOf(v.edited_at)} · {personName(app, v.edited_by)}</span>
                <br />{v.snapshot?.title} · ¥{yuan(v.snapshot?.budget_total_fen ?? budgetTotal(v.snapshot?.budget_lines))}
              </li>
            ))}
          </ul>
        </details>
      )}
      {round && managesRound(me, round) && <Reviewers app={app} proposal={proposal} round={round} />}
    </main>
  );
}

const key = () => `k${Math.random().toString(36).slice(2, 8)}`;
const blankLine = () => ({ item: '', quantity: '1', unit: '' });

function fromProposal(p) {
  return {
    group_id: p.group_id, title: p.title, need_ids: p.need_ids || [], beneficiaries: p.beneficiaries || '',
    beneficiary_count: String(p.beneficiary_count ?? ''), activities: p.activities || '', team: p.team || '',
    budget_lines: (p.budget_lines || []).map((l) => ({ item: l.item, quantity: String(l.quantity), unit: yuanText(l.unit_cost_fen) })),
    indicators: (p.indicators || []).map((i) => ({ ...i, target: String(i.target) })),
    timeline: p.timeline || [],
  };
}

export function ProposalEdit({ app, params }) {
  return <ProposalForm app={app} params={[]} editId={params[0]} />;
}

/** #/rounds/<round>/proposals/new, or (editId) #/proposals/<id>/edit: a new version. */
export function ProposalForm({ app, params, editId = null }) {
  const existing = editId ? app.view.proposal?.get(editId) : null;
  const roundId = existing ? existing.round_id : params[0];
  const round = app.view.round?.get(roundId);
  const me = app.meta.me;
  const mine = groupsOf(app).filter((g) => g.members?.includes(me?.user));
  const held = [...(app.view.need?.values() || [])].filter((n) => n.round_id === roundId && n.status !== 'merged');
  // A resident's phone holds only their own needs: online, the round's published ones come
  // from its public page (title, category, community; nothing a resident typed).
  const [published, setPublished] = useState([]);
  useEffect(() => {
    if (!app.online || !roundId) return;
    getJson(`/api/v1/public/rounds/${encodeURIComponent(roundId)}`).then((page) => setPublished(page?.needs || []), () => {});
  }, [roundId, app.online]);
  const needs = [...held, ...published.filter((p) => !held.some((n) => n.id === p.id))];
  const [form, setForm] = useState(() => (existing ? fromProposal(existing) : {
    group_id: mine[0]?.id || '', title: '', need_ids: [], beneficiaries: '', beneficiary_count: '', activities: '', team: '',
    budget_lines: [blankLine()], indicators: [{ key: key(), name: '', unit: '', target: '' }], timeline: [{ key: key(), title: '', due: '' }],
  }));
  const submitting = useSubmit();
  if (editId && !existing) return <Missing what="proposal" />;
  if (!round) return <Missing />;
  const upd = (patch) => { setForm({ ...form, ...patch }); submitting.clear(); };
  const set = (name) => (e) => upd({ [name]: e.currentTarget.value });
  const setIn = (list, i, name) => (e) => upd({ [list]: form[list].map((x, j) => (j === i ? { ...x, [name]: e.currentTarget.value } : x)) });
  const lines = form.budget_lines.map((l) => ({ item: l.item.trim(), quantity: Number(l.quantity), unit_cost_fen: fenOf(l.unit) }));
  const total = lines.every((l) => Number.isFinite(l.unit_cost_fen) && Number.isFinite(l.quantity)) ? budgetTotal(lines) : NaN;
  const overMax = Number.isFinite(total) && total > round.max_project_fen;
  const underMin = Number.isFinite(total) && total < round.min_project_fen;

  function save(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      if (!form.group_id) return submitting.fail(t('proposals.need_group'));
      if (!form.title.trim()) return submitting.fail(t('form.required', { field: t('proposal.title') }));
      const budget_lines = lines.filter((l) => l.item);
      if (!budget_lines.length) return submitting.fail(t('proposal.lines_required'));
      if (budget_lines.some((l) => !(l.quantity > 0) || !Number.isInteger(l.quantity) || !(l.unit_cost_fen > 0))) return submitting.fail(t('proposal.bad_line'));
      const indicators = form.indicators.filter((i) => i.name.trim());
      if (indicators.some((i) => !i.unit.trim())) return submitting.fail(t('proposal.unit_required'));
      const values = {
        title: form.title.trim(), need_ids: form.need_ids, beneficiaries: form.beneficiaries.trim(),
        beneficiary_count: Number(form.beneficiary_count) || 0, activities: form.activities.trim(), team: form.team.trim(), budget_lines,
        indicators: indicators.map((i) => ({ key: i.key, name: i.name.trim(), unit: i.unit.trim(), target: Number(i.target) || 0 })),
        timeline: form.timeline.filter((s) => s.title.trim() && s.due).map((s) => ({ key: s.key, title: s.title.trim(), due: s.due })),
      };
      if (existing) {
        const fields = Object.fromEntries(Object.entries(values).filter(([k, v]) => JSON.stringify(existing[k] ?? null) !== JSON.stringify(v)));
        if (!Object.keys(fields).length) return submitting.fail(t('programme.no_changes'));
        await act('proposal.edit', { id: existing.id, fields }, 1, { key: intent.key });
        go(`/proposals/${existing.id}`, { replace: true });
        return true;
      }
      await act('proposal.submit', { id: intent.id, round_id: roundId, group_id: form.group_id, ...values }, 1, { key: intent.key });
      go(`/proposals/${intent.id}`, { replace: true });
      return true;
    });
  }
  const err = (path) => <FieldError fields={submitting.fields} path={existing ? `fields.${path}` : path} />;
  return (
    <main class="screen form programme">
      <a class="back" href={existing ? `#/proposals/${existing.id}` : `#/rounds/${roundId}/proposals`}>‹ {t('programme.cancel')}</a>
      <h1>{existing ? t('proposal.edit_title', { n: existing.version + 1 }) : t('proposals.new')}</h1>
      <p class="muted">{round.title} · {t('round.per_project')} ¥{yuan(round.min_project_fen)} – ¥{yuan(round.max_project_fen)}</p>
      {existing && <p class="muted small-note">{t('proposal.edit_keeps')}</p>}
      <form onSubmit={save} data-testid="proposal-form">
        {!existing && mine.length > 1 && (
          <label>{t('proposal.group')}<select value={form.group_id} onChange={set('group_id')}>{mine.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}</select></label>
        )}
        <label>{t('proposal.title')}<input value={form.title} onInput={set('title')} maxLength={200} required data-testid="proposal-title-input" /></label>
        {err('title')}
        {needs.length > 0 && (
          <fieldset class="items">
            <legend>{t('proposal.needs')}</legend>
            {needs.map((n) => (
              <label class="check" key={n.id}>
                <input type="checkbox" checked={form.need_ids.includes(n.id)} data-testid="proposal-need"
                  onChange={(e) => upd({ need_ids: e.currentTarget.checked ? [...form.need_ids, n.id] : form.need_ids.filter((x) => x !== n.id) })} />
                {t(`need.cat.${n.category}`)} · {n.public_title || n.community}
              </label>
            ))}
          </fieldset>
        )}
        <label>{t('proposal.beneficiaries')}<input value={form.beneficiaries} onInput={set('beneficiaries')} maxLength={500} placeholder={t('proposal.beneficiaries_hint')} data-testid="proposal-beneficiaries" /></label>
        <label>{t('proposal.beneficiary_count')}<input type="number" inputMode="numeric" min="0" value={form.beneficiary_count} onInput={set('beneficiary_count')} /></label>
        <label>{t('proposal.activities')}<textarea rows="3" value={form.activities} onInput={set('activities')} maxLength={4000} data-testid="proposal-activities" /></label>
        <fieldset class="items budget-lines" data-testid="budget-lines">
          <legend>{t('proposal.budget')}</legend>
          {form.budget_lines.map((l, i) => (
            <div class="item" key={i} data-testid="budget-line">
              <label class="mini">{t('proposal.item')}<input value={l.item} onInput={setIn('budget_lines', i, 'item')} maxLength={120} data-testid="line-item" /></label>
              <div class="row">
                <label class="mini qty">{t('proposal.qty')}<input type="number" inputMode="numeric" min="1" value={l.quantity} onInput={setIn('budget_lines', i, 'quantity')} data-testid="line-qty" /></label>
                <label class="mini">{t('proposal.unit_cost_yuan')}<input inputMode="decimal" value={l.unit} onInput={setIn('budget_lines', i, 'unit')} data-testid="line-unit" /></label>
                <span class="line-sum" aria-live="polite">¥{Number.isFinite(lineTotal(lines[i])) ? yuan(lineTotal(lines[i])) : '—'}</span>
              </div>
              {form.budget_lines.length > 1 && <button type="button" class="small remove" onClick={() => upd({ budget_lines: form.budget_lines.filter((_, j) => j !== i) })}>{t('proposal.remove_line')}</button>}
            </div>
          ))}
          <button type="button" class="small" onClick={() => upd({ budget_lines: [...form.budget_lines, blankLine()] })} data-testid="add-line">+ {t('proposal.add_line')}</button>
          <p class={`budget-total ${overMax || underMin ? 'bad' : ''}`} data-testid="form-total" aria-live="polite">
            {t('proposal.total')}: <strong>¥{Number.isFinite(total) ? yuan(total) : '—'}</strong>
            {overMax && <> · {t('proposal.over_max', { max: yuan(round.max_project_fen) })}</>}
            {underMin && total > 0 && <> · {t('proposal.under_min', { min: yuan(round.min_project_fen) })}</>}
          </p>
        </fieldset>
        {err('budget_lines')}
        <fieldset class="items">
          <legend>{t('proposal.indicators')}</legend>
          {form.indicators.map((ind, i) => (
            <div class="row" key={ind.key}>
              <label class="mini">{t('proposal.indicator')}<input value={ind.name} onInput={setIn('indicators', i, 'name')} maxLength={120} data-testid="indicator-name" /></label>
              <label class="mini qty">{t('proposal.target')}<input type="number" inputMode="decimal" value={ind.target} onInput={setIn('indicators', i, 'target')} data-testid="indicator-target" /></label>
              <label class="mini unit">{t('proposal.unit')}<input value={ind.unit} onInput={setIn('indicators', i, 'unit')} maxLength={16} placeholder={t('proposal.unit_hint')} data-testid="indicator-unit" /></label>
            </div>
          ))}
          <button type="button" class="small" onClick={() => upd({ indicators: [...form.indicators, { key: key(), name: '', unit: '', target: '' }] })}>+ {t('proposal.add_indicator')}</button>
        </fieldset>
        <fieldset class="items">
          <legend>{t('proposal.timeline')}</legend>
          {form.timeline.map((s, i) => (
            <div class="row" key={s.key}>
              <label class="mini">{t('proposal.step')}<input value={s.title} onInput={setIn('timeline', i, 'title')} maxLength={120} data-testid="step-title" /></label>
              <label class="mini">{t('proposal.due')}<input type="date" value={s.due} onInput={setIn('timeline', i, 'due')} data-testid="step-due" /></label>
            </div>
          ))}
          <button type="button" class="small" onClick={() => upd({ timeline: [...form.timeline, { key: key(), title: '', due: '' }] })}>+ {t('proposal.add_step')}</button>
        </fieldset>
        <label>{t('proposal.team')}<textarea rows="2" value={form.team} onInput={set('team')} maxLength={2000} /></label>
        <FormStatus form={submitting} shown={['title', 'budget_lines', 'fields']} />
        <div class="sticky-save"><SaveButton form={submitting} label={existing ? t('proposal.save_version') : t('proposal.submit')} testid="save-proposal" /></div>
      </form>
    </main>
  );
}
