// Managers: corrections waiting for a second person (approve / refuse; the requester and
// the recorder cannot decide their own), fund balances from the fund records (balance,
// approved-but-unpaid, available), and disbursements: request (the fund's station or the
// federation), approve or refuse, pay (the federation; three different people).
import { useState } from 'preact/hooks';
import { both, t } from '../../i18n.js';
import { useDraft, useSubmit } from '../../ui/forms.js';
import { DraftNote, FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { act } from '../../state.js';
import { correctionsByDonation, currentOf, donorLabel, holdsFund, parseYuan, worksForFund, yuan } from './model.js';
import { CorrectionLine } from './detail.jsx';
import { AttachmentList, PhotoPicker, arrived, useAttachments } from '../../ui/photos.jsx';
import { configValue } from '../../config.js';
import { personName } from '../../ui/format.js';

const dateOf = (iso) => (iso ? iso.slice(0, 10) : '');

export function FundsScreen({ app }) {
  const me = app.meta.me;
  const waiting = [...app.view.donation_correction.values()]
    .filter((c) => c.status === 'pending')
    .sort((a, b) => (a.requested_at < b.requested_at ? -1 : 1));
  // Public records: every fund reaches every phone; the manager's own come first.
  const near = (f) => (f.station && f.station === me?.station ? 0 : f.district && f.district === me?.district ? 1 : 2);
  const funds = [...app.view.fund.values()].sort((a, b) => near(a) - near(b) || (a.district || '').localeCompare(b.district || '') || a.name.localeCompare(b.name));
  const projectCount = new Map();
  for (const p of app.view.project.values()) projectCount.set(p.fund_id, (projectCount.get(p.fund_id) || 0) + 1);
  const index = waiting.length ? correctionsByDonation(app.view) : null;
  return (
    <main class="screen funds">
      <h1>{t('funds.title')}</h1>
      <h2>{t('funds.corrections', { n: waiting.length })}</h2>
      {waiting.length === 0 && <p class="muted">{t('funds.no_corrections')}</p>}
      <ul class="plain">
        {waiting.map((c) => {
          const donation = app.view.donation.get(c.donation_id);
          const own = me && (c.requested_by === me.user || donation?.recorded_by === me.user);
          const now = donation ? currentOf(donation, index.get(donation.id)) : null;
          return (
            <li key={c.id} class="approval" data-testid="approval" data-id={c.id}>
              {donation && <a href={`#/donations/d/${donation.id}`}>¥{yuan(now.amount)} · {donorLabel(donation, t('donor.anonymous'))} · <span class="mono">{donation.receipt_number || ''}</span></a>}
              <ul class="plain"><CorrectionLine c={c} /></ul>
              {own ? <p class="muted">{t('funds.own')}</p> : (
                <div class="row">
                  <button type="button" class="danger" onClick={() => act('correction.decide', { id: c.id, decision: 'reject', note: '' })} data-testid="refuse-correction">{t('funds.refuse')}</button>
                  <button type="button" class="primary" onClick={() => act('correction.decide', { id: c.id, decision: 'approve', note: '' })} data-testid="approve-correction">{t('funds.approve')}</button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
      <h2>{t('funds.balances')}</h2>
      {funds.length === 0 && <p class="muted">{t('funds.none')}</p>}
      <ul class="plain">
        {funds.map((fund) => (
          <li key={fund.id} class="fund" data-testid="fund" data-id={fund.id}>
            <div class="fund-name"><strong>{fund.name}</strong> <span class="muted">{fund.district || t('funds.city')}{fund.station ? ` · ${fund.station}` : ''}</span></div>
            <div class="balance"><span class="muted">{t('funds.balance')}</span> <strong data-testid="fund-balance">¥{yuan(fund.balance_fen)}</strong></div>
            <div class="muted">{t('funds.reserved')} ¥{yuan(fund.reserved_fen)} · {t('funds.available')} <strong data-testid="fund-available">¥{yuan(fund.balance_fen - fund.reserved_fen)}</strong></div>
            {projectCount.get(fund.id) > 0 && <div class="muted small-note">{t('funds.projects', { n: projectCount.get(fund.id) })}</div>}
          </li>
        ))}
      </ul>
      <Disbursements app={app} funds={funds} />
    </main>
  );
}

function Disbursements({ app, funds }) {
  const me = app.meta.me;
  const [form, setForm] = useState(null); // {fund, project, amount, payee, purpose}
  const [paying, setPaying] = useState(null); // {id, reference}
  const requesting = useSubmit();
  const payment = useSubmit();
  const draft = useDraft(me, 'disbursement.request', form, setForm, null);
  const all = [...app.view.disbursement.values()];
  const finished = (d) => d.status === 'paid' || d.status === 'rejected';
  const open = all.filter((d) => !finished(d)).sort((a, b) => (a.requested_at < b.requested_at ? 1 : -1));
  // Paid and refused ones stay as a history, newest first (folded away).
  const endOf = (d) => d.paid_at || d.decided_at || d.requested_at;
  const done = all.filter(finished).sort((a, b) => (endOf(a) < endOf(b) ? 1 : -1));
  const who = (user) => personName(app.view, user);
  const requestable = funds.filter((f) => worksForFund(me, f));
  const projectsOf = (fundId) => [...app.view.project.values()].filter((p) => p.fund_id === fundId);
  const invoiceLine = configValue(app.meta, 'disbursement_invoice_line_fen');

  function request(e) {
    e.preventDefault();
    return requesting.run(async (intent) => {
      const amount = parseYuan(form.amount);
      if (!form.fund || !form.project) return requesting.fail(t('don.need_fund'));
      if (amount === null) return requesting.showFields({ amount_fen: both('don.bad_amount') });
      if (!form.payee.trim()) return requesting.fail(t('form.required', { field: t('disb.payee') }));
      await act('disbursement.request', { id: intent.id, fund_id: form.fund, project_id: form.project, amount_fen: amount, payee: form.payee.trim(), purpose: form.purpose.trim(), attachments: form.invoice || [] }, 1, { key: intent.key });
      await draft.done();
      setForm(null);
      return true;
    });
  }
  function pay(e) {
    e.preventDefault();
    return payment.run(async (intent) => {
      if (!paying.reference.trim()) return payment.fail(t('form.required', { field: t('disb.reference') }));
      await act('disbursement.pay', { id: paying.id, reference: paying.reference.trim() }, 1, { key: intent.key });
      setPaying(null);
      return true;
    });
  }
  const field = (name) => ({ value: form[name], onInput: (e) => setForm({ ...form, [name]: e.currentTarget.value }) });
  return (
    <section data-testid="disbursements">
      <h2>{t('funds.disbursements', { n: open.length })}</h2>
      <ul class="plain">
        {open.map((d) => <DisbursementItem key={d.id} app={app} d={d} paying={paying} setPaying={setPaying} payment={payment} pay={pay} />)}
      </ul>
      {open.length === 0 && <p class="muted" data-testid="no-disbursements">{t('disb.none_open')}</p>}
      {done.length > 0 && (
        <details class="history" data-testid="disbursements-done">
          <summary>{t('disb.done', { n: done.length })}</summary>
          <ul class="plain">
            {done.map((d) => (
              <li key={d.id} class="fund" data-testid="disbursement-done" data-status={d.status}>
                <div><strong>¥{yuan(d.amount_fen)}</strong> · {d.payee} · <span class={`tag ${d.status === 'paid' ? 'ok' : 'bad'}`}>{t(`disb.status.${d.status}`)}</span></div>
                <div class="muted">{app.view.fund.get(d.fund_id)?.name || ''} · {app.view.project.get(d.project_id)?.name || ''}</div>
                <div class="muted">{t('disb.chain', { req: who(d.requested_by), dec: who(d.decided_by) || '—' })}{d.paid_by ? ` · ${t('disb.paid_by', { who: who(d.paid_by) })}` : ''} · {dateOf(endOf(d))}</div>
                {d.reference && <div class="muted">{t('disb.reference')}: <span class="mono">{d.reference}</span></div>}
              </li>
            ))}
          </ul>
        </details>
      )}
      {requestable.length > 0 && !form && <button type="button" class="block" onClick={() => setForm({ fund: requestable[0].id, project: '', amount: '', payee: '', purpose: '', invoice: [] })} data-testid="new-disbursement">{t('disb.new')}</button>}
      {form && (
        <form onSubmit={request} class="correction-form" data-testid="disbursement-form">
          <DraftNote draft={draft} />
          <label>{t('disb.fund')}<select name="fund" value={form.fund} onChange={(e) => setForm({ ...form, fund: e.currentTarget.value, project: '' })}>
            {requestable.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
          </select></label>
          <label>{t('disb.project')}<select name="project" {...field('project')} onChange={(e) => setForm({ ...form, project: e.currentTarget.value })}>
            <option value="">{t('don.choose_project')}</option>
            {projectsOf(form.fund).map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select></label>
          <label>{t('don.amount')}<input name="disb-amount" inputMode="decimal" {...field('amount')} /></label>
          <FieldError fields={requesting.fields} path="amount_fen" />
          <label>{t('disb.payee')}<input name="payee" {...field('payee')} maxLength={100} /></label>
          <FieldError fields={requesting.fields} path="payee" />
          <label>{t('disb.purpose')}<input name="purpose" {...field('purpose')} /></label>
          <FieldError fields={requesting.fields} path="purpose" />
          <PhotoPicker app={app} value={form.invoice || []} onChange={(invoice) => setForm({ ...form, invoice })} kind="invoice" pdf
            label={t('disb.invoice')} testid="invoice" maxBytes={configValue(app.meta, 'file_max_bytes')}
            hint={(parseYuan(form.amount) ?? 0) > invoiceLine && !(form.invoice || []).length
              ? <p class="photo-needed" role="status" data-testid="invoice-needed">{t('disb.invoice_needed', { line: yuan(invoiceLine) })}</p> : null} />
          <FormStatus form={requesting} shown={['amount_fen', 'payee', 'purpose']} showSaved={false} />
          <div class="actions">
            <button type="button" onClick={() => { setForm(null); requesting.reset(); }}>{t('event.cancel')}</button>
            <SaveButton form={requesting} class="primary" label={t('corr.submit')} testid="submit-disbursement" />
          </div>
        </form>
      )}
      {!form && requesting.saved && <p class="ok" role="status" data-testid="form-saved">✓ {t('disb.saved')}</p>}
      {!paying && payment.saved && <p class="ok" role="status">✓ {t('disb.paid_saved')}</p>}
    </section>
  );
}

/** One open disbursement: its invoice, approve / refuse, pay. Above the invoice line, pay
 *  waits until an invoice photo has reached the server (the server refuses it otherwise);
 *  the requester or the federation can add the invoice later (attachment.add). */
function DisbursementItem({ app, d, paying, setPaying, payment, pay }) {
  const me = app.meta.me;
  const fund = app.view.fund.get(d.fund_id);
  const federation = fund && holdsFund(me, fund);
  const refs = d.attachments || [];
  const items = useAttachments(app, refs);
  const line = configValue(app.meta, 'disbursement_invoice_line_fen');
  const needsInvoice = d.amount_fen > line;
  const invoiceHere = arrived(items, 'invoice');
  const invoiceRefs = refs.filter((r) => r.kind === 'invoice');
  const [adding, setAdding] = useState(null); // the invoice files being added
  const adder = useSubmit();
  const mayAdd = d.requested_by === me?.user || federation;
  const mayPay = federation && d.status === 'approved' && ![d.requested_by, d.decided_by].includes(me.user) && !d.pending;
  function addInvoice(e) {
    e.preventDefault();
    return adder.run(async (intent) => {
      if (!adding?.length) return adder.fail(t('disb.invoice'));
      await act('attachment.add', { record_type: 'disbursement', record_id: d.id, attachments: adding }, 1, { key: intent.key });
      setAdding(null);
      return true;
    });
  }
  return (
    <li class="fund" data-testid="disbursement" data-status={d.status} data-id={d.id}>
      <div><strong>¥{yuan(d.amount_fen)}</strong> · {d.payee} · <span class="tag waiting">{t(`disb.status.${d.status}`)}</span>
        {d.pending && <span class="tag pending">{t('events.pending')}</span>}</div>
      <div class="muted">{fund?.name || ''} · {app.view.project.get(d.project_id)?.name || ''} · {personName(app.view, d.requested_by)}{d.decided_by ? ` → ${personName(app.view, d.decided_by)}` : ''}</div>
      {d.purpose && <div>{d.purpose}</div>}
      <AttachmentList app={app} refs={refs} items={items} testid="disbursement-files" />
      {federation && d.status === 'requested' && fund && (
        <div class="muted" data-testid="disbursement-fund-available">
          {t('disb.fund_available', { fund: fund.name })} <strong>¥{yuan(fund.balance_fen - fund.reserved_fen)}</strong>
        </div>
      )}
      {federation && d.status === 'requested' && d.requested_by !== me.user && !d.pending && (
        <div class="row">
          <button type="button" class="danger" onClick={() => act('disbursement.decide', { id: d.id, decision: 'reject', note: '' })}>{t('funds.refuse')}</button>
          <button type="button" class="primary" onClick={() => act('disbursement.decide', { id: d.id, decision: 'approve', note: '' })} data-testid="approve-disbursement">{t('funds.approve')}</button>
        </div>
      )}
      {needsInvoice && !invoiceHere && (
        <p class="photo-needed" role="status" data-testid="invoice-missing">
          {invoiceRefs.length ? t('disb.invoice_waiting') : t('disb.invoice_needed', { line: yuan(line) })}
        </p>
      )}
      {mayAdd && !invoiceRefs.length && !adding && (
        <button type="button" class="block" onClick={() => setAdding([])} data-testid="add-invoice">{t('disb.add_invoice')}</button>
      )}
      {adding && (
        <form onSubmit={addInvoice} data-testid="add-invoice-form">
          <PhotoPicker app={app} value={adding} onChange={setAdding} kind="invoice" pdf label={t('disb.invoice')} testid="invoice-later"
            maxBytes={configValue(app.meta, 'file_max_bytes')} />
          <FormStatus form={adder} showSaved={false} />
          <div class="actions">
            <button type="button" onClick={() => { setAdding(null); adder.reset(); }}>{t('event.cancel')}</button>
            <SaveButton form={adder} class="primary" label={t('disb.add_invoice')} testid="save-invoice" />
          </div>
        </form>
      )}
      {mayPay && (
        paying?.id === d.id ? (
          <form onSubmit={pay} class="row">
            <input name="reference" placeholder={t('disb.reference')} aria-label={t('disb.reference')} value={paying.reference} onInput={(e) => setPaying({ ...paying, reference: e.currentTarget.value })} maxLength={100} />
            <SaveButton form={payment} class="primary" label={t('disb.pay')} testid="pay-disbursement" />
            <FieldError fields={payment.fields} path="reference" />
            <FormStatus form={payment} shown={['reference']} showSaved={false} />
          </form>
        ) : <button type="button" class="block" disabled={needsInvoice && !invoiceHere} aria-describedby={needsInvoice && !invoiceHere ? `why-${d.id}` : undefined}
          onClick={() => setPaying({ id: d.id, reference: '' })} data-testid="open-pay">{t('disb.pay')}…</button>
      )}
      {mayPay && needsInvoice && !invoiceHere && <span id={`why-${d.id}`} class="visually-hidden">{t('disb.invoice_needed', { line: yuan(line) })}</span>}
      {!adding && adder.saved && <p class="ok" role="status">✓ {t('disb.invoice_added')}</p>}
    </li>
  );
}
