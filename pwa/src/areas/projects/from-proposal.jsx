// A micro-venture's grant (#/projects/from-proposal/<proposal id>): a funded proposal of a
// round becomes its project when the round's fund manager signs the grant (grant.create with
// proposal_id): the amount (at most what the round awarded), the day it was signed, and the
// tranches, each paid after one of the proposal's timeline items or in advance. The server
// makes the project, its milestones (the timeline) and the grant; the overlay shows them at once.
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { act } from '../../state.js';
import { newId } from '../../sync/ids.js';
import { DraftNote, FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { errorAt, useDraft, useSubmit } from '../../ui/forms.js';
import { todayIso, yuan } from '../../ui/format.js';
import { parseYuan } from '../donations/model.js';
import { BRAND_CATEGORIES, holdsProjectFund, projectOfProposal, resultOf } from './model.js';
import { BackTo } from './parts.jsx';

const blankTranche = () => ({ amount: '', key: '' });

function Shell({ children, title }) {
  return (
    <main class="screen project-form" data-testid="proposal-grant">
      <BackTo href="#/projects" label={t('sp.title')} />
      <h1>{title || t('sp.grant_sign')}</h1>
      {children}
    </main>
  );
}

export function ProposalGrantForm({ app, params }) {
  const [proposalId] = params;
  const me = app.meta.me;
  const view = app.view;
  const proposal = view.proposal?.get(proposalId) || null;
  const result = resultOf(view, proposal);
  const round = proposal && view.round?.get(proposal.round_id);
  const fund = round && view.fund?.get(round.fund_id);
  const group = proposal && view.community_group?.get(proposal.group_id);
  const timeline = proposal?.timeline || [];
  const awarded = result ? Number(result.amount_fen) : 0;
  const blank = { amount: null, signed: todayIso(), category: 'governance', summary: '', tranches: [blankTranche()] };
  const [f, setF] = useState(blank);
  const form = useSubmit();
  const draft = useDraft(me, `grant.create:proposal:${proposalId}`, f, setF, blank);
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  const setTranche = (i, patch) => set({ tranches: f.tranches.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  // untouched, the amount is what the round awarded (also when the result syncs after the screen opened)
  const amountText = f.amount ?? (awarded ? String(awarded / 100) : '');
  const amount = parseYuan(amountText);
  const sum = f.tranches.reduce((s, x) => s + (parseYuan(x.amount) || 0), 0);
  const existing = projectOfProposal(view, proposalId);

  if (!proposal || !round) return <Shell><p class="notice" data-testid="proposal-missing">{t(app.meta.last_sync_at ? 'sp.proposal_missing' : 'events.loading')}</p></Shell>;
  if (existing) {
    return (
      <Shell>
        <p class="notice" data-testid="proposal-has-project">{t('sp.proposal_has_project')}</p>
        <a class="button block" href={`#/projects/${existing.id}`}>{existing.name}</a>
      </Shell>
    );
  }
  const head = (
    <section class="item-card" data-testid="proposal-head">
      <strong class="pre" data-testid="proposal-title">{proposal.title}</strong>
      <div class="muted">{t('sp.group')}:{group?.name || '—'}</div>
      <div class="muted">{t('sp.round')}:{round.title}</div>
      {result?.funded && <div data-testid="awarded">{t('sp.awarded', { amount: yuan(awarded) })}</div>}
    </section>
  );
  if (!result?.funded || proposal.status !== 'funded') return <Shell>{head}<p class="notice" data-testid="proposal-not-funded">{t('sp.proposal_not_funded')}</p></Shell>;
  if (!holdsProjectFund(me, fund)) return <Shell>{head}<p class="notice" data-testid="grant-who">{t('sp.grant_who')}</p></Shell>;

  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (amount === null || amount <= 0) return form.showFields({ amount_fen: { zh: '请输入资助金额,例如 3000', en: 'Enter the grant amount, e.g. 3000' } });
      if (amount > awarded) {
        return form.showFields({ amount_fen: { zh: `资助金额不能超过评选结果 ¥${yuan(awarded)}`, en: `The grant cannot exceed the amount awarded (¥${yuan(awarded)})` } });
      }
      if (!f.signed) return form.showFields({ signed_at: { zh: '请选择签订日期', en: 'Pick the day it was signed' } });
      const tranches = [];
      for (const [i, x] of f.tranches.entries()) {
        if (!x.amount.trim()) continue;
        const fen = parseYuan(x.amount);
        if (fen === null || fen <= 0) return form.showFields({ [`tranches.${i}`]: { zh: '请输入这一期的金额', en: "Enter this tranche's amount" } });
        const id = intent.extra[`t${i}`] || (intent.extra[`t${i}`] = newId());
        tranches.push(x.key ? { id, amount_fen: fen, milestone_key: x.key } : { id, amount_fen: fen });
      }
      if (sum > amount) return form.showFields({ tranches: { zh: `分期总额 ¥${yuan(sum)} 超过资助金额 ¥${yuan(amount)}`, en: `The tranches (¥${yuan(sum)}) exceed the grant (¥${yuan(amount)})` } });
      const projectId = intent.extra.project || (intent.extra.project = newId());
      await act('grant.create', {
        id: intent.id, project_id: projectId, proposal_id: proposal.id, amount_fen: amount, signed_at: f.signed,
        category: f.category, summary: f.summary.trim(), tranches,
      }, 1, { key: intent.key });
      await draft.done();
      go(`/projects/${projectId}?saved=grant`);
      return true;
    });
  }

  const over = amount !== null && amount > awarded;
  return (
    <Shell>
      {head}
      <p class="muted fine">{t('sp.from_proposal_hint', { fund: fund?.name || '' })}</p>
      <form onSubmit={submit}>
        <DraftNote draft={draft} />
        <label>{t('sp.grant_total')}<input name="amount" inputMode="decimal" value={amountText} aria-invalid={over}
          onInput={(e) => set({ amount: e.currentTarget.value })} /></label>
        {over && !errorAt(form.fields, 'amount_fen') && <p class="bad fine" data-testid="amount-over">{t('sp.above_award', { amount: yuan(awarded) })}</p>}
        <FieldError fields={form.fields} path="amount_fen" />
        <label>{t('sp.signed_on')}<input name="signed" type="date" value={f.signed} onInput={(e) => set({ signed: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="signed_at" />
        <label>{t('sp.category')}<select name="category" value={f.category} onChange={(e) => set({ category: e.currentTarget.value })}>
          {BRAND_CATEGORIES.map((c) => <option key={c} value={c}>{t(`sp.cat.${c}`)}</option>)}
        </select></label>
        <label>{t('sp.summary')}<textarea name="summary" value={f.summary} onInput={(e) => set({ summary: e.currentTarget.value })} /></label>
        <p class="muted fine">{t('sp.summary_hint')}</p>
        <FieldError fields={form.fields} path="summary" />
        <p class="muted fine">{t('sp.from_proposal_milestones', { n: timeline.length })}</p>
        <fieldset class="rows" data-testid="tranche-rows">
          <legend>{t('sp.tranches')} · <span class={amount !== null && sum > amount ? 'bad' : ''} data-testid="tranche-sum">¥{yuan(sum)}{amount !== null ? ` / ¥${yuan(amount)}` : ''}</span></legend>
          {f.tranches.map((x, i) => (
            <div class="sub-row" key={i} data-testid="tranche-row">
              <label>{t('sp.tranche_yuan', { n: i + 1 })}<input name={`tr-amount-${i}`} inputMode="decimal" value={x.amount} onInput={(e) => setTranche(i, { amount: e.currentTarget.value })} /></label>
              <label>{t('sp.paid_after')}<select name={`tr-key-${i}`} value={x.key} onChange={(e) => setTranche(i, { key: e.currentTarget.value })}>
                <option value="">{t('sp.no_milestone')}</option>
                {timeline.map((step) => <option key={step.key} value={step.key}>{step.title}{step.due ? ` (${step.due})` : ''}</option>)}
              </select></label>
              <FieldError fields={form.fields} path={`tranches.${i}`} />
              {f.tranches.length > 1 && <button type="button" class="small" onClick={() => set({ tranches: f.tranches.filter((_, j) => j !== i) })}>{t('sp.remove_row')}</button>}
            </div>
          ))}
          <FieldError fields={form.fields} path="tranches" />
          <button type="button" class="block" data-testid="add-tranche" onClick={() => set({ tranches: [...f.tranches, blankTranche()] })}>{t('sp.add_tranche')}</button>
        </fieldset>
        <FormStatus form={form} shown={['amount_fen', 'signed_at', 'tranches', 'summary', 'category']} showSaved={false} />
        <div class="sticky-save"><SaveButton form={form} label={t('sp.save_grant')} testid="save-grant" /></div>
      </form>
    </Shell>
  );
}
