// One donation: what was recorded, its amount now, its corrections (a change above the
// threshold waits for a second manager), and the form to void or correct it with a reason.
import { useState } from 'preact/hooks';
import { both, t } from '../../i18n.js';
import { useDraft, useSubmit } from '../../ui/forms.js';
import { configValue } from '../../config.js';
import { DraftNote, FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { act } from '../../state.js';
import { correctionsByDonation, currentOf, donorLabel, madeAt, parseYuan, yuan } from './model.js';
import { timeOf } from '../../ui/format.js';
import { AttachmentList } from '../../ui/photos.jsx';

export function CorrectionLine({ c }) {
  return (
    <li class={`correction ${c.status}`} data-testid="correction" data-status={c.status}>
      <div><strong>{c.action === 'void' ? t('corr.line.void') : t('corr.line.correct', { amount: yuan(c.new_amount_fen) })}</strong>
        {' · '}<span class={`tag ${c.status === 'pending' ? 'waiting' : c.status === 'rejected' ? 'void' : 'ok'}`} data-testid="correction-status">{t(`corr.status.${c.status}`)}</span>
        {c.pending && <span class="tag pending">{t('events.pending')}</span>}</div>
      <div>{c.reason}</div>
      <div class="muted">{c.requested_by} · {timeOf(c.requested_at)}{c.decided_by ? ` → ${c.decided_by}` : ''}{c.decision_note ? `:${c.decision_note}` : ''}</div>
    </li>
  );
}

export function DonationDetail({ app, params }) {
  const [id] = params;
  const donation = app.view.donation.get(id);
  const [form, setForm] = useState(null); // null | {action, amount, reason}
  const submitting = useSubmit();
  const draft = useDraft(app.meta.me, `correction.${id}`, form, setForm, null);
  if (!donation) return <main class="screen"><p>{t('don.missing')}</p><a class="button" href="#/donations">{t('don.back')}</a></main>;
  const corrections = correctionsByDonation(app.view).get(id) || [];
  const now = currentOf(donation, corrections);
  const receipt = donation.receipt_number && app.view.receipt.get(donation.receipt_number);
  const event = donation.event_id && app.view.event.get(donation.event_id);

  function submit(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      const reason = form.reason.trim();
      if (!reason) return submitting.fail(t('corr.reason_needed'));
      const args = { id: intent.id, donation_id: id, action: form.action, reason };
      if (form.action === 'correct') {
        const fen = parseYuan(form.amount);
        if (fen === null || (donation.kind === 'money' && fen < 1)) return submitting.showFields({ new_amount_fen: both('don.bad_amount') });
        args.new_amount_fen = fen;
      }
      await act('donation.correct', args, 1, { key: intent.key });
      await draft.done();
      setForm(null);
      return true;
    });
  }
  const threshold = configValue(app.meta, 'correction_approval_threshold_fen');

  const change = form ? (form.action === 'void' ? now.amount : Math.abs((parseYuan(form.amount) ?? now.amount) - now.amount)) : 0;
  return (
    <main class="screen detail donation-detail" data-testid="donation-detail">
      <a class="back" href="#/donations">‹ {t('don.back')}</a>
      <h1 data-testid="donation-amount" class={now.voided ? 'struck' : ''}>¥{yuan(now.voided ? donation.amount_fen : now.amount)} {now.voided && <span class="tag void">{t('don.void')}</span>}</h1>
      {donation.pending && <p class="tag pending">{t('events.pending')}</p>}
      <dl>
        <dt>{t('don.donor')}</dt><dd>{donorLabel(donation, t('donor.anonymous'))}{donation.donor_phone ? ` · ${donation.donor_phone}` : ''}</dd>
        <dt>{t(donation.kind === 'goods' ? 'don.items' : 'don.method')}</dt>
        <dd>{donation.kind === 'goods' ? donation.items.map((i) => `${i.name} ×${i.quantity}${i.unit} (¥${yuan(i.estimated_value_fen)})`).join('、') : t(`method.${donation.method}`)}</dd>
        {now.amount !== donation.amount_fen && <><dt>{t('don.original')}</dt><dd>¥{yuan(donation.amount_fen)}</dd></>}
        <dt>{t('don.direction')}</dt><dd>{t(`dir.${donation.direction}`)}{donation.project_id ? ` · ${app.view.project.get(donation.project_id)?.name || ''}` : donation.fund_id && donation.direction === 'fund' ? ` · ${app.view.fund.get(donation.fund_id)?.name || ''}` : ''}</dd>
        <dt>{t('don.event')}</dt><dd>{event?.title || t('don.no_event')}</dd>
        <dt>{t('don.receipt')}</dt><dd>{receipt ? <a href={`#/receipts/${receipt.number}`} class="mono" data-testid="donation-receipt">{receipt.number}</a> : t('don.no_receipt')}</dd>
        <dt>{t('don.recorded_by')}</dt><dd>{donation.recorded_by} · {timeOf(madeAt(donation))}</dd>
        {donation.note && <><dt>{t('event.notes')}</dt><dd class="notes">{donation.note}</dd></>}
      </dl>
      <AttachmentList app={app} refs={donation.attachments} title={t('don.photos')} testid="donation-photos" />
      {corrections.length > 0 && (
        <>
          <h2>{t('don.history')}</h2>
          <ul class="plain">{corrections.map((c) => <CorrectionLine key={c.id} c={c} />)}</ul>
        </>
      )}
      {!now.voided && !form && (now.pending
        ? <p class="notice">{t('corr.pending_block')}</p>
        : <button type="button" class="block" onClick={() => setForm({ action: 'void', amount: '', reason: '' })} data-testid="open-correction">{t('don.correct')}</button>)}
      {form && (
        <form onSubmit={submit} class="correction-form" data-testid="correction-form">
          <DraftNote draft={draft} />
          <div class="segmented row">
            {['void', 'correct'].map((action) => (
              <button type="button" key={action} class={form.action === action ? 'on' : ''} aria-checked={form.action === action} role="radio"
                onClick={() => setForm({ ...form, action })} data-value={action}>{t(`corr.${action}`)}</button>
            ))}
          </div>
          {form.action === 'correct' && <label>{t('corr.new_amount')}<input name="new-amount" inputMode="decimal" value={form.amount} onInput={(e) => setForm({ ...form, amount: e.currentTarget.value })} /></label>}
          <FieldError fields={submitting.fields} path="new_amount_fen" />
          <label>{t('corr.reason')}<input name="reason" value={form.reason} onInput={(e) => setForm({ ...form, reason: e.currentTarget.value })} /></label>
          <FieldError fields={submitting.fields} path="reason" />
          {change > threshold && <p class="notice" data-testid="needs-second">{t('corr.needs_second', { limit: yuan(threshold) })}</p>}
          <FormStatus form={submitting} shown={['new_amount_fen', 'reason']} showSaved={false} />
          <div class="actions">
            <button type="button" onClick={() => { setForm(null); submitting.reset(); }}>{t('event.cancel')}</button>
            <SaveButton form={submitting} class="primary" label={t('corr.submit')} testid="submit-correction" />
          </div>
        </form>
      )}
      {!form && submitting.saved && <p class="ok" role="status" data-testid="form-saved">✓ {t('corr.saved')}</p>}
    </main>
  );
}
