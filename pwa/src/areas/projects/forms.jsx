// The forms of one project, each a screen of its own (one thumb, one task): a progress
// report with photos, a beneficiary's feedback (score and comment; taken offline, one after
// another), a supervision visit with its follow-up due date (offline), an indicator's actual
// for a period, a tranche's disbursement request, and the evaluation. Each is checked against
// the server's schema before it is queued (act), and goes out with the next sync.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { act } from '../../state.js';
import { configValue } from '../../config.js';
import { useDraft, useSubmit } from '../../ui/forms.js';
import { DraftNote, FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { PhotoPicker } from '../../ui/photos.jsx';
import { todayIso, yuan } from '../../ui/format.js';
import { BRAND_CATEGORIES, RATINGS, SCORE_KEYS, grantOf, holdsProjectFund, indicatorRows, mayEvaluate, milestonesOf, parseNumber, quarterOf } from './model.js';
import { parseYuan as parseYuanText } from '../donations/model.js';
import { newId } from '../../sync/ids.js';
import { BackTo, Missing } from './parts.jsx';

function Segmented({ name, value, options, onChange, label }) {
  return (
    <div class="segmented row" role="radiogroup" aria-label={label} data-testid={`seg-${name}`}>
      {options.map(([key, text, aria]) => (
        <button type="button" key={key} role="radio" aria-checked={value === key} class={value === key ? 'on' : ''}
          aria-label={aria} onClick={() => onChange(key)} data-value={key}>{text}</button>
      ))}
    </div>
  );
}

function useProject(app, params) {
  const [id] = params;
  return app.view.service_project.get(id) || null;
}

function Screen({ p, title, testid, children }) {
  return (
    <main class="screen project-form" data-testid={testid}>
      <BackTo href={`#/projects/${p.id}`} label={p.name} />
      <h1>{title}</h1>
      {children}
    </main>
  );
}

const back = (p, saved) => go(`/projects/${p.id}?saved=${saved}`);

// ---- progress report --------------------------------------------------------------------

export function ReportForm({ app, params, query }) {
  const p = useProject(app, params);
  const milestones = p ? milestonesOf(app.view, p.id) : [];
  const first = query?.get('m') || milestones.find((m) => (m.progress ?? 0) < 100)?.id || milestones[0]?.id || '';
  const blank = { milestone: first, progress: '', text: '', photos: [] };
  const [f, setF] = useState(blank);
  const form = useSubmit();
  const draft = useDraft(app.meta.me, `progress.report:${params[0]}`, f, setF, blank);
  if (!p) return <Missing />;
  const milestone = f.milestone || first; // the records may arrive after the form opened
  const chosen = app.view.milestone.get(milestone);
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      const progress = parseNumber(f.progress);
      if (!milestone) return form.fail(t('sp.need_milestone'));
      if (progress === null || !Number.isInteger(progress)) return form.showFields({ progress: { zh: '请填写 0 到 100 的整数', en: 'Enter a whole number from 0 to 100' } });
      await act('progress.report', { id: intent.id, project_id: p.id, milestone_id: milestone, progress, text: f.text.trim(), attachments: f.photos }, 1, { key: intent.key });
      await draft.done();
      back(p, 'report');
      return true;
    });
  }
  return (
    <Screen p={p} title={t('sp.report')} testid="report-form">
      {milestones.length === 0 ? <p class="muted">{t('sp.no_milestones')}</p> : (
        <form onSubmit={submit}>
          <DraftNote draft={draft} />
          <label>{t('sp.milestone')}<select name="milestone" value={milestone} onChange={(e) => set({ milestone: e.currentTarget.value })}>
            {milestones.map((m) => <option key={m.id} value={m.id}>{m.title} ({t('sp.weight_short', { w: m.weight })} · {m.progress ?? 0}%)</option>)}
          </select></label>
          <FieldError fields={form.fields} path="milestone_id" />
          <label>{t('sp.progress_now')}<input name="progress" type="number" inputMode="numeric" min="0" max="100" step="1" value={f.progress}
            placeholder={chosen ? String(chosen.progress ?? 0) : ''} onInput={(e) => set({ progress: e.currentTarget.value })} /></label>
          <FieldError fields={form.fields} path="progress" />
          <label>{t('sp.report_text')}<textarea name="text" value={f.text} onInput={(e) => set({ text: e.currentTarget.value })} /></label>
          <FieldError fields={form.fields} path="text" />
          <PhotoPicker app={app} value={f.photos} onChange={(photos) => set({ photos })} label={t('sp.photos')} testid="report-photos"
            maxBytes={configValue(app.meta, 'file_max_bytes')} />
          <FormStatus form={form} shown={['milestone_id', 'progress', 'text']} showSaved={false} />
          <div class="sticky-save"><SaveButton form={form} label={t('sp.save_report')} testid="save-report" /></div>
        </form>
      )}
    </Screen>
  );
}

// ---- feedback ----------------------------------------------------------------------------

export function FeedbackForm({ app, params }) {
  const p = useProject(app, params);
  const blank = { score: 0, comment: '' };
  const [f, setF] = useState(blank);
  const [count, setCount] = useState(0);
  const form = useSubmit();
  if (!p) return <Missing />;
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!f.score) return form.showFields({ score: { zh: '请选择满意度', en: 'Choose a score' } });
      await act('feedback.record', { id: intent.id, project_id: p.id, score: f.score, comment: f.comment.trim(), taken_on: todayIso() }, 1, { key: intent.key });
      setF(blank);
      setCount((n) => n + 1);
      return true;
    });
  }
  return (
    <Screen p={p} title={t('sp.feedback')} testid="feedback-form">
      <p class="muted">{t('sp.feedback_hint')}</p>
      <form onSubmit={submit}>
        <p class="field-label" id="score-label">{t('sp.score')}</p>
        <Segmented name="score" label={t('sp.score')} value={f.score} onChange={(score) => set({ score })}
          options={[1, 2, 3, 4, 5].map((n) => [n, String(n), t('sp.score_of', { n })])} />
        <p class="muted fine score-ends"><span>{t('sp.score_low')}</span><span>{t('sp.score_high')}</span></p>
        <FieldError fields={form.fields} path="score" />
        <label>{t('sp.comment')}<textarea name="comment" value={f.comment} onInput={(e) => set({ comment: e.currentTarget.value })} /></label>
        <p class="muted fine">{t('sp.comment_private')}</p>
        <FieldError fields={form.fields} path="comment" />
        <FormStatus form={form} shown={['score', 'comment']} savedText={t('sp.feedback_saved', { n: count })} />
        <div class="sticky-save"><SaveButton form={form} label={t('sp.save_feedback')} testid="save-feedback" /></div>
      </form>
      <a class="button block" href={`#/projects/${p.id}`}>{t('sp.done')}</a>
    </Screen>
  );
}

// ---- supervision visit -------------------------------------------------------------------

export function VisitForm({ app, params }) {
  const p = useProject(app, params);
  const blank = { date: todayIso(), rating: 'good', findings: '', follow_up: '', due: '', photos: [] };
  const [f, setF] = useState(blank);
  const form = useSubmit();
  const draft = useDraft(app.meta.me, `visit.record:${params[0]}`, f, setF, blank);
  if (!p) return <Missing />;
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!f.findings.trim()) return form.showFields({ findings: { zh: '请填写督查发现', en: 'Enter what the visit found' } });
      if (f.due && f.due < f.date) return form.showFields({ follow_up_due: { zh: '跟进期限不能早于督查日期', en: 'The follow-up cannot be due before the visit' } });
      if (f.due && !f.follow_up.trim()) return form.showFields({ follow_up: { zh: '有跟进期限时请写明要跟进什么', en: 'Say what is to be followed up' } });
      await act('visit.record', {
        id: intent.id, project_id: p.id, visited_on: f.date, rating: f.rating, findings: f.findings.trim(),
        follow_up: f.follow_up.trim(), follow_up_due: f.due || null, attachments: f.photos,
      }, 1, { key: intent.key });
      await draft.done();
      back(p, 'visit');
      return true;
    });
  }
  return (
    <Screen p={p} title={t('sp.visit')} testid="visit-form">
      <form onSubmit={submit}>
        <DraftNote draft={draft} />
        <label>{t('sp.visit_date')}<input name="visited" type="date" value={f.date} max={todayIso()} onInput={(e) => set({ date: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="visited_on" />
        <p class="field-label">{t('sp.rating')}</p>
        <Segmented name="rating" label={t('sp.rating')} value={f.rating} onChange={(rating) => set({ rating })}
          options={RATINGS.map((r) => [r, t(`sp.rating.${r}`)])} />
        <label>{t('sp.findings')}<textarea name="findings" value={f.findings} onInput={(e) => set({ findings: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="findings" />
        <label>{t('sp.follow_up_what')}<textarea name="follow_up" value={f.follow_up} onInput={(e) => set({ follow_up: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="follow_up" />
        <label>{t('sp.follow_up_due')}<input name="due" type="date" value={f.due} min={f.date} onInput={(e) => set({ due: e.currentTarget.value })} /></label>
        <p class="muted fine">{t('sp.follow_up_hint')}</p>
        <FieldError fields={form.fields} path="follow_up_due" />
        <PhotoPicker app={app} value={f.photos} onChange={(photos) => set({ photos })} label={t('sp.photos')} testid="visit-photos"
          maxBytes={configValue(app.meta, 'file_max_bytes')} />
        <FormStatus form={form} shown={['visited_on', 'findings', 'follow_up', 'follow_up_due']} showSaved={false} />
        <div class="sticky-save"><SaveButton form={form} label={t('sp.save_visit')} testid="save-visit" /></div>
      </form>
    </Screen>
  );
}

// ---- indicator actuals --------------------------------------------------------------------

export function IndicatorForm({ app, params }) {
  const p = useProject(app, params);
  const rows = p ? indicatorRows(app.view, p) : [];
  const [f, setF] = useState({ key: rows[0]?.key || '', period: quarterOf(), value: '' });
  const form = useSubmit();
  if (!p) return <Missing />;
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  const key = f.key || rows[0]?.key || ''; // the records may arrive after the form opened
  const chosen = rows.find((r) => r.key === key);
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      const value = parseNumber(f.value);
      if (!key) return form.fail(t('sp.need_indicator'));
      if (value === null) return form.showFields({ value: { zh: '请填写数值', en: 'Enter a number' } });
      if (!/^(19|2\d)\d{2}(-Q[1-4]|-(0[1-9]|1[0-2])|-H[12])?$/.test(f.period.trim())) return form.showFields({ period: { zh: '期间写作 2026-Q3、2026-09、2026-H2 或 2026', en: 'Write the period as 2026-Q3, 2026-09, 2026-H2 or 2026' } });
      await act('indicator.record', { id: intent.id, project_id: p.id, indicator_key: key, period: f.period.trim(), value }, 1, { key: intent.key });
      back(p, 'indicator');
      return true;
    });
  }
  return (
    <Screen p={p} title={t('sp.indicator_record')} testid="indicator-form">
      {rows.length === 0 ? <p class="muted">{t('sp.no_indicators')}</p> : (
        <form onSubmit={submit}>
          <label>{t('sp.indicator')}<select name="indicator" value={key} onChange={(e) => set({ key: e.currentTarget.value })}>
            {rows.map((r) => <option key={r.key} value={r.key}>{r.name} ({t('sp.target')} {r.target} {r.unit})</option>)}
          </select></label>
          <label>{t('sp.period')}<input name="period" value={f.period} onInput={(e) => set({ period: e.currentTarget.value })} maxLength={10} /></label>
          <FieldError fields={form.fields} path="period" />
          <label>{t('sp.value')}{chosen?.unit ? ` (${chosen.unit})` : ''}<input name="value" inputMode="decimal" value={f.value} onInput={(e) => set({ value: e.currentTarget.value })} /></label>
          <FieldError fields={form.fields} path="value" />
          {chosen?.latest && <p class="muted fine">{t('sp.last_value', { period: chosen.latest.period, value: chosen.latest.value })}</p>}
          <FormStatus form={form} shown={['period', 'value', 'indicator_key']} showSaved={false} />
          <SaveButton form={form} label={t('sp.save_indicator')} testid="save-indicator" />
        </form>
      )}
    </Screen>
  );
}

// ---- a tranche's disbursement -------------------------------------------------------------

export function TrancheForm({ app, params }) {
  const p = useProject(app, params);
  const tranche = app.view.grant_tranche.get(params[1]);
  const blank = { payee: '', purpose: '', invoice: [] };
  const [f, setF] = useState(blank);
  const form = useSubmit();
  const draft = useDraft(app.meta.me, `tranche.request:${params[1]}`, f, setF, blank);
  if (!p || !tranche) return <Missing />;
  const grant = grantOf(app.view, p.id);
  const milestone = tranche.milestone_id && app.view.milestone.get(tranche.milestone_id);
  const invoiceLine = configValue(app.meta, 'disbursement_invoice_line_fen');
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!f.payee.trim()) return form.showFields({ payee: { zh: '请填写收款人', en: 'Enter the payee' } });
      await act('tranche.request', {
        id: tranche.id, disbursement_id: intent.id, payee: f.payee.trim(), purpose: f.purpose.trim(), attachments: f.invoice,
      }, 1, { key: intent.key });
      await draft.done();
      back(p, 'tranche');
      return true;
    });
  }
  return (
    <Screen p={p} title={t('sp.request_tranche')} testid="tranche-form">
      <div class="item-card">
        <div class="row-between"><span>{t('sp.amount')}</span><strong data-testid="tranche-amount">¥{yuan(tranche.amount_fen)}</strong></div>
        {grant && <div class="muted fine">{t('sp.grant_amount', { amount: yuan(grant.amount_fen) })}</div>}
        {milestone && <div class="muted fine">{t('sp.tranche_after', { title: milestone.title })} · {milestone.progress ?? 0}%</div>}
      </div>
      <p class="muted">{t('sp.tranche_flow')}</p>
      <form onSubmit={submit}>
        <DraftNote draft={draft} />
        <label>{t('disb.payee')}<input name="payee" value={f.payee} onInput={(e) => set({ payee: e.currentTarget.value })} maxLength={100} /></label>
        <FieldError fields={form.fields} path="payee" />
        <label>{t('disb.purpose')}<input name="purpose" value={f.purpose} onInput={(e) => set({ purpose: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="purpose" />
        <PhotoPicker app={app} value={f.invoice} onChange={(invoice) => set({ invoice })} kind="invoice" pdf label={t('disb.invoice')} testid="tranche-invoice"
          maxBytes={configValue(app.meta, 'file_max_bytes')}
          hint={tranche.amount_fen > invoiceLine && !f.invoice.length ? <p class="photo-needed" role="status">{t('disb.invoice_needed', { line: yuan(invoiceLine) })}</p> : null} />
        <FormStatus form={form} shown={['payee', 'purpose']} showSaved={false} />
        <div class="sticky-save"><SaveButton form={form} label={t('sp.send_request')} testid="save-tranche" /></div>
      </form>
    </Screen>
  );
}

// ---- evaluation ----------------------------------------------------------------------------

export function EvaluateForm({ app, params }) {
  const p = useProject(app, params);
  const blank = { needs: '', performance: '', feedback: '', supervision: '', conclusion: '', public_summary: '' };
  const [f, setF] = useState(blank);
  const form = useSubmit();
  const draft = useDraft(app.meta.me, `evaluation.submit:${params[0]}`, f, setF, blank);
  if (!p) return <Missing />;
  const me = app.meta.me;
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  const scores = Object.fromEntries(SCORE_KEYS.map((k) => [k, parseNumber(f[k])]));
  const complete = SCORE_KEYS.every((k) => scores[k] !== null);
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      const bad = SCORE_KEYS.filter((k) => scores[k] === null || !Number.isInteger(scores[k]) || scores[k] < 0 || scores[k] > 100);
      if (bad.length) return form.showFields(Object.fromEntries(bad.map((k) => [`scores.${k}`, { zh: '请填写 0 到 100 的整数', en: 'Enter a whole number from 0 to 100' }])));
      if (!f.conclusion.trim()) return form.showFields({ conclusion: { zh: '请填写评估结论', en: 'Enter the conclusion' } });
      await act('evaluation.submit', {
        project_id: p.id, scores, conclusion: f.conclusion.trim(), public_summary: f.public_summary.trim(),
      }, 1, { key: intent.key });
      await draft.done();
      back(p, 'evaluation');
      return true;
    });
  }
  if (!mayEvaluate(me, p, app.view.fund.get(p.fund_id))) {
    return <Screen p={p} title={t('sp.evaluate')} testid="evaluate-form"><p class="notice">{t('sp.not_evaluator')}</p></Screen>;
  }
  return (
    <Screen p={p} title={t('sp.evaluate')} testid="evaluate-form">
      <p class="muted">{t('sp.evaluate_hint')}</p>
      <form onSubmit={submit}>
        <DraftNote draft={draft} />
        {SCORE_KEYS.map((k) => (
          <div key={k}>
            <label>{t(`sp.score.${k}`)} <span class="muted fine">{t(`sp.score_hint.${k}`)}</span>
              <input name={`score-${k}`} type="number" inputMode="numeric" min="0" max="100" step="1" value={f[k]} onInput={(e) => set({ [k]: e.currentTarget.value })} />
            </label>
            <FieldError fields={form.fields} path={`scores.${k}`} />
          </div>
        ))}
        {complete && <p data-testid="evaluation-mean">{t('sp.mean_of_four', { n: Math.round(SCORE_KEYS.reduce((s, k) => s + scores[k], 0) / 4) })}</p>}
        <label>{t('sp.conclusion')}<textarea name="conclusion" value={f.conclusion} onInput={(e) => set({ conclusion: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="conclusion" />
        <label>{t('sp.public_summary')}<textarea name="public_summary" value={f.public_summary} onInput={(e) => set({ public_summary: e.currentTarget.value })} /></label>
        <p class="muted fine">{t('sp.public_summary_hint')}</p>
        <FieldError fields={form.fields} path="public_summary" />
        <p class="muted fine">{t('sp.spent_from_ledger')}</p>
        <FormStatus form={form} shown={['scores', 'conclusion', 'public_summary']} showSaved={false} />
        <div class="sticky-save"><SaveButton form={form} label={t('sp.save_evaluation')} testid="save-evaluation" /></div>
      </form>
    </Screen>
  );
}

// ---- the grant agreement of a brand project ------------------------------------------------

const blankTranche = () => ({ amount: '', milestone: '' });

/** The fund's managers sign a brand project's grant (协议资助): its amount and tranches, each
 *  tied to a milestone or not (an advance). A micro-venture's grant comes from its round. */
export function GrantForm({ app, params }) {
  const p = useProject(app, params);
  const blank = { amount: '', signed: todayIso(), tranches: [blankTranche()] };
  const [f, setF] = useState(blank);
  const form = useSubmit();
  const draft = useDraft(app.meta.me, `grant.create:${params[0]}`, f, setF, blank);
  if (!p) return <Missing />;
  const fund = app.view.fund.get(p.fund_id);
  const milestones = milestonesOf(app.view, p.id);
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  const setTranche = (i, patch) => set({ tranches: f.tranches.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const amount = parseYuanText(f.amount);
  const sum = f.tranches.reduce((s, x) => s + (parseYuanText(x.amount) || 0), 0);
  if (grantOf(app.view, p.id)) return <Screen p={p} title={t('sp.grant_sign')} testid="grant-form"><p class="notice">{t('sp.grant_exists')}</p></Screen>;
  if (!holdsProjectFund(app.meta.me, fund)) return <Screen p={p} title={t('sp.grant_sign')} testid="grant-form"><p class="notice">{t('sp.grant_who')}</p></Screen>;
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (amount === null) return form.showFields({ amount_fen: { zh: '请输入金额,例如 20000', en: 'Enter an amount, e.g. 20000' } });
      const tranches = [];
      for (const [i, x] of f.tranches.entries()) {
        if (!x.amount.trim()) continue;
        const fen = parseYuanText(x.amount);
        if (fen === null) return form.showFields({ [`tranches.${i}`]: { zh: '请输入这一期的金额', en: "Enter this tranche's amount" } });
        tranches.push({ id: intent.extra[`t${i}`] || (intent.extra[`t${i}`] = newId()), amount_fen: fen, milestone_id: x.milestone || null });
      }
      if (sum > amount) return form.showFields({ tranches: { zh: `分期总额 ¥${yuan(sum)} 超过资助金额 ¥${yuan(amount)}`, en: `The tranches (¥${yuan(sum)}) exceed the grant (¥${yuan(amount)})` } });
      await act('grant.create', { id: intent.id, project_id: p.id, amount_fen: amount, signed_at: f.signed, tranches }, 1, { key: intent.key });
      await draft.done();
      back(p, 'grant');
      return true;
    });
  }
  return (
    <Screen p={p} title={t('sp.grant_sign')} testid="grant-form">
      <p class="muted">{t('sp.grant_hint', { fund: fund?.name || '' })}</p>
      <form onSubmit={submit}>
        <DraftNote draft={draft} />
        <label>{t('sp.grant_total')}<input name="amount" inputMode="decimal" value={f.amount} onInput={(e) => set({ amount: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="amount_fen" />
        <label>{t('sp.signed_on')}<input name="signed" type="date" value={f.signed} onInput={(e) => set({ signed: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="signed_at" />
        <fieldset class="rows" data-testid="tranche-rows">
          <legend>{t('sp.tranches')} · <span class={amount !== null && sum > amount ? 'bad' : ''} data-testid="tranche-sum">¥{yuan(sum)}{amount !== null ? ` / ¥${yuan(amount)}` : ''}</span></legend>
          {f.tranches.map((x, i) => (
            <div class="sub-row" key={i} data-testid="tranche-row">
              <div class="row">
                <label>{t('sp.tranche_yuan', { n: i + 1 })}<input name={`tr-amount-${i}`} inputMode="decimal" value={x.amount} onInput={(e) => setTranche(i, { amount: e.currentTarget.value })} /></label>
                <label>{t('sp.milestone')}<select name={`tr-milestone-${i}`} value={x.milestone} onChange={(e) => setTranche(i, { milestone: e.currentTarget.value })}>
                  <option value="">{t('sp.no_milestone')}</option>
                  {milestones.map((m) => <option key={m.id} value={m.id}>{m.title}</option>)}
                </select></label>
              </div>
              <FieldError fields={form.fields} path={`tranches.${i}`} />
              {f.tranches.length > 1 && <button type="button" class="small" onClick={() => set({ tranches: f.tranches.filter((_, j) => j !== i) })}>{t('sp.remove_row')}</button>}
            </div>
          ))}
          <FieldError fields={form.fields} path="tranches" />
          <button type="button" class="block" data-testid="add-tranche" onClick={() => set({ tranches: [...f.tranches, blankTranche()] })}>{t('sp.add_tranche')}</button>
        </fieldset>
        <FormStatus form={form} shown={['amount_fen', 'signed_at', 'tranches']} showSaved={false} />
        <div class="sticky-save"><SaveButton form={form} label={t('sp.save_grant')} testid="save-grant" /></div>
      </form>
    </Screen>
  );
}

// ---- the grant agreement of a funded proposal (a micro-venture round) ----------------------

/** #/proposals/<id>/grant: the fund's managers sign a funded proposal's grant; the server
 *  makes the micro-venture project with it (its milestones from the proposal's timeline,
 *  weighted here; each tranche tied to a step or an advance). The phone cannot show the
 *  project before the server answers: it goes back to the results, which link to it then. */
export function ProposalGrantForm({ app, params }) {
  const [proposalId] = params;
  const proposal = app.view.proposal?.get(proposalId) || null;
  const round = proposal ? app.view.round?.get(proposal.round_id) : null;
  const result = [...(app.view.round_result?.values() || [])].find((r) => r.proposal_id === proposalId && (!round || r.round_id === round.id));
  const timeline = proposal?.timeline || [];
  const equal = timeline.map((_, i) => String(Math.floor(100 / timeline.length) + (i < 100 % timeline.length ? 1 : 0)));
  const blank = {
    amount: result?.amount_fen ? yuan(result.amount_fen).replace(/,/g, '') : '', signed: todayIso(), category: 'elderly', summary: '',
    weights: equal, tranches: [blankTranche()],
  };
  const [f, setF] = useState(blank);
  const form = useSubmit();
  const draft = useDraft(app.meta.me, `grant.create:proposal:${proposalId}`, f, setF, blank);
  if (!proposal || !round) return <Missing />;
  const back = `#/rounds/${round.id}/results`;
  const fund = app.view.fund?.get(round.fund_id);
  const shell = (children) => (
    <main class="screen project-form" data-testid="proposal-grant-form">
      <BackTo href={back} label={round.title} />
      <h1>{t('sp.grant_sign')}</h1>
      <p class="muted">{proposal.title}</p>
      {children}
    </main>
  );
  const made = [...app.view.service_project.values()].find((p) => p.proposal_id === proposalId);
  if (made) return shell(<p class="notice">{t('sp.grant_exists')} <a href={`#/projects/${made.id}`}>{made.name}</a></p>);
  if (app.outbox.some((m) => m.name === 'grant.create' && m.args?.proposal_id === proposalId)) return shell(<p class="notice">{t('sp.grant_queued')}</p>);
  if (!result?.funded) return shell(<p class="notice">{t('sp.grant_not_funded')}</p>);
  if (!holdsProjectFund(app.meta.me, fund)) return shell(<p class="notice">{t('sp.grant_who')}</p>);
  const set = (patch) => { setF({ ...f, ...patch }); form.clear(); };
  const setTranche = (i, patch) => set({ tranches: f.tranches.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const amount = parseYuanText(f.amount);
  const sum = f.tranches.reduce((s, x) => s + (parseYuanText(x.amount) || 0), 0);
  const weightSum = f.weights.reduce((s, w) => s + (Number(w) || 0), 0);
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (amount === null) return form.showFields({ amount_fen: { zh: '请输入金额,例如 6000', en: 'Enter an amount, e.g. 6000' } });
      if (amount > result.amount_fen) return form.showFields({ amount_fen: { zh: `资助金额不能超过评选结果 ¥${yuan(result.amount_fen)}`, en: `The grant cannot exceed the award (¥${yuan(result.amount_fen)})` } });
      if (timeline.length && weightSum !== 100) return form.showFields({ weights: { zh: `里程碑权重合计为 ${weightSum},应为 100`, en: `Milestone weights add up to ${weightSum}, not 100` } });
      const tranches = [];
      for (const [i, x] of f.tranches.entries()) {
        if (!x.amount.trim()) continue;
        const fen = parseYuanText(x.amount);
        if (fen === null) return form.showFields({ [`tranches.${i}`]: { zh: '请输入这一期的金额', en: "Enter this tranche's amount" } });
        tranches.push({ id: intent.extra[`t${i}`] || (intent.extra[`t${i}`] = newId()), amount_fen: fen, ...(x.milestone ? { milestone_key: x.milestone } : {}) });
      }
      if (sum > amount) return form.showFields({ tranches: { zh: `分期总额 ¥${yuan(sum)} 超过资助金额 ¥${yuan(amount)}`, en: `The tranches (¥${yuan(sum)}) exceed the grant (¥${yuan(amount)})` } });
      const projectId = intent.extra.project || (intent.extra.project = newId());
      await act('grant.create', {
        id: intent.id, project_id: projectId, proposal_id: proposalId, amount_fen: amount, signed_at: f.signed,
        category: f.category, summary: f.summary.trim(), tranches,
        weights: timeline.map((s, i) => ({ key: s.key, weight: Number(f.weights[i]) || 0 })),
      }, 1, { key: intent.key });
      await draft.done();
      go(`/rounds/${round.id}/results`, { replace: true });
      return true;
    });
  }
  return shell(
    <>
      <p class="muted">{t('sp.grant_hint', { fund: fund?.name || '' })} {t('sp.grant_award', { amount: yuan(result.amount_fen) })}</p>
      <form onSubmit={submit}>
        <DraftNote draft={draft} />
        <label>{t('sp.grant_total')}<input name="amount" inputMode="decimal" value={f.amount} onInput={(e) => set({ amount: e.currentTarget.value })} /></label>
        <FieldError fields={form.fields} path="amount_fen" />
        <label>{t('sp.signed_on')}<input name="signed" type="date" value={f.signed} onInput={(e) => set({ signed: e.currentTarget.value })} /></label>
        <label>{t('sp.category')}<select name="category" value={f.category} onChange={(e) => set({ category: e.currentTarget.value })}>
          {BRAND_CATEGORIES.map((c) => <option key={c} value={c}>{t(`sp.cat.${c}`)}</option>)}
        </select></label>
        <label>{t('sp.summary')}<textarea name="summary" rows="3" maxLength={1000} value={f.summary} onInput={(e) => set({ summary: e.currentTarget.value })} /></label>
        <p class="muted small-note">{t('sp.summary_hint')}</p>
        {timeline.length > 0 && (
          <fieldset class="rows" data-testid="grant-weights">
            <legend>{t('sp.grant_steps')} · <span class={weightSum !== 100 ? 'bad' : ''}>{t('sp.weight_sum', { n: weightSum })}</span></legend>
            {timeline.map((s, i) => (
              <div class="row" key={s.key}>
                <span class="grow">{s.title}{s.due && <><br /><span class="muted">{t('sp.due_on', { due: s.due })}</span></>}</span>
                <label class="mini">{t('sp.weight')}<input name={`weight-${i}`} type="number" inputMode="numeric" min="1" max="100" value={f.weights[i]}
                  onInput={(e) => set({ weights: f.weights.map((w, j) => (j === i ? e.currentTarget.value : w)) })} /></label>
              </div>
            ))}
            <FieldError fields={form.fields} path="weights" />
          </fieldset>
        )}
        <fieldset class="rows" data-testid="tranche-rows">
          <legend>{t('sp.tranches')} · <span class={amount !== null && sum > amount ? 'bad' : ''} data-testid="tranche-sum">¥{yuan(sum)}{amount !== null ? ` / ¥${yuan(amount)}` : ''}</span></legend>
          {f.tranches.map((x, i) => (
            <div class="sub-row" key={i} data-testid="tranche-row">
              <div class="row">
                <label>{t('sp.tranche_yuan', { n: i + 1 })}<input name={`tr-amount-${i}`} inputMode="decimal" value={x.amount} onInput={(e) => setTranche(i, { amount: e.currentTarget.value })} /></label>
                <label>{t('sp.milestone')}<select name={`tr-milestone-${i}`} value={x.milestone} onChange={(e) => setTranche(i, { milestone: e.currentTarget.value })}>
                  <option value="">{t('sp.no_milestone')}</option>
                  {timeline.map((s) => <option key={s.key} value={s.key}>{s.title}</option>)}
                </select></label>
              </div>
              <FieldError fields={form.fields} path={`tranches.${i}`} />
              {f.tranches.length > 1 && <button type="button" class="small" onClick={() => set({ tranches: f.tranches.filter((_, j) => j !== i) })}>{t('sp.remove_row')}</button>}
            </div>
          ))}
          <FieldError fields={form.fields} path="tranches" />
          <button type="button" class="block" data-testid="add-tranche" onClick={() => set({ tranches: [...f.tranches, blankTranche()] })}>{t('sp.add_tranche')}</button>
        </fieldset>
        <FormStatus form={form} shown={['amount_fen', 'signed_at', 'tranches', 'weights', 'summary', 'category']} showSaved={false} />
        <div class="sticky-save"><SaveButton form={form} label={t('sp.save_grant')} testid="save-grant" /></div>
      </form>
    </>,
  );
}

// ---- the milestone plan ----------------------------------------------------------------------

/** The project's milestones, whole (milestone.set): titles, weights and due dates change,
 *  new ones are added; existing ones stay (their reports and tranches point at them); the
 *  weights add up to 100. */
export function MilestonesForm({ app, params }) {
  const p = useProject(app, params);
  const current = p ? milestonesOf(app.view, p.id) : [];
  const fromRecords = () => current.map((m) => ({ id: m.id, title: m.title, weight: String(m.weight), due: m.due || '', old: true }));
  const [f, setF] = useState(fromRecords);
  const form = useSubmit();
  // opened before the phone read its records (a reload on this screen): fill it once they are
  useEffect(() => { if (!f.length && current.length) setF(fromRecords()); }, [current.length]);
  if (!p) return <Missing />;
  const set = (rows) => { setF(rows); form.clear(); };
  const setRow = (i, patch) => set(f.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const weights = f.reduce((s, m) => s + (parseNumber(m.weight) || 0), 0);
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      const milestones = [];
      for (const [i, x] of f.entries()) {
        const weight = parseNumber(x.weight);
        if (!x.title.trim() || weight === null || !Number.isInteger(weight) || weight < 1) {
          return form.showFields({ [`milestones.${i}`]: { zh: '每个里程碑请填写名称和权重(整数)', en: 'Give each milestone a title and a whole-number weight' } });
        }
        milestones.push({ id: x.id || (intent.extra[`m${i}`] = intent.extra[`m${i}`] || newId()), title: x.title.trim(), weight, due: x.due || null });
      }
      if (!milestones.length) return form.fail(t('sp.need_milestone'));
      if (weights !== 100) return form.showFields({ milestones: { zh: `里程碑权重合计须为 100(现为 ${weights})`, en: `Milestone weights must add up to 100 (now ${weights})` } });
      await act('milestone.set', { project_id: p.id, milestones }, 1, { key: intent.key });
      back(p, 'milestones');
      return true;
    });
  }
  return (
    <Screen p={p} title={t('sp.milestones_edit')} testid="milestones-form">
      <p class="muted">{t('sp.milestones_hint')}</p>
      <form onSubmit={submit}>
        <fieldset class="rows" data-testid="milestone-rows">
          <legend>{t('sp.milestones_plan')} · <span class={weights === 100 ? 'ok' : 'bad'} data-testid="weight-sum">{t('sp.weight_sum', { n: weights })}</span></legend>
          {f.map((x, i) => (
            <div class="sub-row" key={x.id || `new-${i}`} data-testid="milestone-row">
              <label>{t('sp.milestone_title')}<input name={`ms-title-${i}`} value={x.title} onInput={(e) => setRow(i, { title: e.currentTarget.value })} maxLength={100} /></label>
              <div class="row">
                <label>{t('sp.weight')}<input name={`ms-weight-${i}`} type="number" inputMode="numeric" min="1" max="100" value={x.weight} onInput={(e) => setRow(i, { weight: e.currentTarget.value })} /></label>
                <label>{t('sp.due_date')}<input name={`ms-due-${i}`} type="date" value={x.due} onInput={(e) => setRow(i, { due: e.currentTarget.value })} /></label>
              </div>
              <FieldError fields={form.fields} path={`milestones.${i}`} />
              {!x.old && <button type="button" class="small" onClick={() => set(f.filter((_, j) => j !== i))}>{t('sp.remove_row')}</button>}
            </div>
          ))}
          <FieldError fields={form.fields} path="milestones" />
          <button type="button" class="block" data-testid="add-milestone" onClick={() => set([...f, { id: '', title: '', weight: '', due: '' }])}>{t('sp.add_milestone')}</button>
        </fieldset>
        <FormStatus form={form} shown={['milestones']} showSaved={false} />
        <div class="sticky-save"><SaveButton form={form} label={t('sp.save_milestones')} testid="save-milestones" /></div>
      </form>
    </Screen>
  );
}
