// Staff and managers: hours waiting for approval (approve, reject with a reason, edit the
// times before approving), overlapping logs of one volunteer side by side with the
// server's resolution (approve one with supersede_overlapping, reject the duplicate), and
// redemptions to approve, hand over or decline.
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { baseFor } from '../../sync/local.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { clock, credits, duration, localIso, span, volunteerNames } from './common.js';
import { LogLine } from './hours.jsx';

export function Approvals({ app }) {
  const me = app.meta.me;
  const view = app.view;
  const names = volunteerNames(view);
  const logs = [...view.hour_log.values()].filter((l) => l.volunteer_id !== me.user);
  const waiting = logs.filter((l) => l.status === 'submitted').sort((a, b) => (a.check_in_at < b.check_in_at ? -1 : 1));
  const open = logs.filter((l) => l.status === 'open');
  const redemptions = [...view.redemption.values()].filter((r) => ['requested', 'needs_review', 'approved'].includes(r.status))
    .sort((a, b) => (a.requested_at < b.requested_at ? -1 : 1));
  return (
    <main class="screen approvals">
      <a class="back" href="#/hours">‹ {t('event.back')}</a>
      <h1>{t('approve.title')}</h1>
      <h2>{t('approve.hours', { n: waiting.length })}</h2>
      {waiting.length === 0 && <p class="muted">{t('approve.none')}</p>}
      <ul class="plain">{waiting.map((log) => <Waiting key={log.id} log={log} view={view} names={names} me={me} />)}</ul>
      {open.length > 0 && (
        <details>
          <summary>{t('approve.open', { n: open.length })}</summary>
          <ul class="plain">{open.map((log) => <Waiting key={log.id} log={log} view={view} names={names} me={me} />)}</ul>
        </details>
      )}
      <h2>{t('approve.redemptions', { n: redemptions.length })}</h2>
      {redemptions.length === 0 && <p class="muted">{t('approve.no_redemptions')}</p>}
      <ul class="plain">{redemptions.map((r) => <RedemptionToDecide key={r.id} redemption={r} view={view} names={names} me={me} />)}</ul>
    </main>
  );
}

/** A reason form that opens in place of the buttons. */
function ReasonForm({ label, onSubmit, onCancel, preset = '' }) {
  const [reason, setReason] = useState(preset);
  const form = useSubmit();
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!reason.trim()) return form.fail(t('approve.reason_needed'));
      await onSubmit(reason.trim(), intent);
      return true;
    });
  }
  return (
    <form class="reasonform" onSubmit={submit}>
      <label>{label}<input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} data-testid="reason-input" /></label>
      <FieldError fields={form.fields} path="reason" />
      <FormStatus form={form} shown={['reason']} />
      <div class="row">
        <button type="button" onClick={onCancel}>{t('approve.cancel')}</button>
        <SaveButton form={form} class="danger" label={t('approve.confirm_reject')} testid="confirm-reason" />
      </div>
    </form>
  );
}

function Waiting({ log, view, names, me }) {
  // Separation of duties (the server refuses it too): whoever recorded, checked in or
  // out, or changed the times of a log does not approve it.
  const handled = (log.handled_by || []).includes(me.user);
  const [mode, setMode] = useState(''); // '' | 'reject' | 'edit'
  const partners = (log.overlaps || []).map((id) => view.hour_log.get(id)).filter(Boolean);
  const name = names.get(log.volunteer_id) || log.volunteer_id;
  return (
    <li class="approval" data-testid="approval" data-id={log.id}>
      <ul class="plain"><LogLine log={log} view={view} name={name} /></ul>
      {partners.length > 0 && (
        <div class="overlap" data-testid="overlap">
          <p class="bad fine">{t('approve.overlap')}</p>
          {partners.map((other) => (
            <div class="sides" key={other.id}>
              <LogSide log={log} label={t('approve.this')} />
              <LogSide log={other} label={t('approve.other')} />
            </div>
          ))}
        </div>
      )}
      {mode === 'reject' && <ReasonForm label={t('approve.reason')} onCancel={() => setMode('')}
        onSubmit={(reason) => act('hours.reject', { id: log.id, reason })} />}
      {mode === 'edit' && <EditTimes log={log} onDone={() => setMode('')} />}
      {!mode && log.status === 'submitted' && (
        <>
          {handled && <p class="muted fine" data-testid="approve-not-yours">{t('approve.not_yours')}</p>}
          {handled ? null : partners.length > 0
            ? <button type="button" class="primary block" data-testid="keep-this" onClick={() => act('hours.approve', { id: log.id, supersede_overlapping: true })}>{t('approve.keep_this')}</button>
            : <button type="button" class="primary block" data-testid="approve" onClick={() => act('hours.approve', { id: log.id })}>{t('approve.approve')}</button>}
          <div class="row">
            {partners.length > 0
              ? <button type="button" class="danger" data-testid="reject-duplicate" onClick={() => act('hours.reject', { id: log.id, reason: t('approve.duplicate_reason') })}>{t('approve.duplicate')}</button>
              : <button type="button" class="danger" data-testid="reject" onClick={() => setMode('reject')}>{t('approve.reject')}</button>}
            <button type="button" data-testid="edit" onClick={() => setMode('edit')}>{t('approve.edit')}</button>
          </div>
        </>
      )}
      {!mode && log.status === 'open' && (
        <div class="row"><button type="button" class="danger" data-testid="reject" onClick={() => setMode('reject')}>{t('approve.reject')}</button></div>
      )}
    </li>
  );
}

function LogSide({ log, label }) {
  return (
    <div class={`side ${label === t('approve.this') ? 'kept' : 'lost'}`} data-testid="overlap-side">
      <div class="label">{label}</div>
      <div class="value">{span(log)}</div>
      <div class="muted">{t(`log.source.${log.source}`)} · {log.recorded_by}</div>
      <div class="muted">{t(`log.status.${log.status}`)}{log.minutes != null ? ` · ${duration(log.minutes)}` : ''}</div>
    </div>
  );
}

function EditTimes({ log, onDone }) {
  const day = (iso) => { const d = new Date(iso); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; };
  const [from, setFrom] = useState(clock(log.check_in_at));
  const [to, setTo] = useState(clock(log.check_out_at));
  const form = useSubmit();
  function save(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      const fields = {};
      const checkIn = localIso(day(log.check_in_at), from);
      const checkOut = localIso(day(log.check_out_at || log.check_in_at), to);
      if (checkOut <= checkIn) return form.fail(t('hours.bad_times'));
      if (Date.parse(checkIn) !== Date.parse(log.check_in_at)) fields.check_in_at = checkIn;
      if (Date.parse(checkOut) !== Date.parse(log.check_out_at)) fields.check_out_at = checkOut;
      if (Object.keys(fields).length) await act('hours.edit', { id: log.id, fields, base: baseFor(log, fields) }, 1, { key: intent.key });
      onDone();
      return true;
    });
  }
  return (
    <form onSubmit={save} data-testid="edit-times">
      <div class="row">
        <label>{t('hours.from')}<input name="from" type="time" value={from} onInput={(e) => setFrom(e.currentTarget.value)} required /></label>
        <label>{t('hours.to')}<input name="to" type="time" value={to} onInput={(e) => setTo(e.currentTarget.value)} required /></label>
      </div>
      <FormStatus form={form} />
      <div class="row">
        <button type="button" onClick={onDone}>{t('approve.cancel')}</button>
        <SaveButton form={form} class="primary" label={t('approve.save')} testid="save-times" />
      </div>
    </form>
  );
}

function RedemptionToDecide({ redemption: r, view, names, me }) {
  const [declining, setDeclining] = useState(false);
  const own = r.volunteer_id === me.user; // nobody approves or hands over their own
  const item = view.redemption_item.get(r.item_id);
  return (
    <li class="approval" data-testid="redemption-decide" data-status={r.status}>
      <div class="log-head">
        <strong>{item?.title || r.item_id.slice(0, 8)}</strong>
        <span class={`tag st-${r.status}`}>{t(`redemption.${r.status}`)}</span>
      </div>
      <div>{names.get(r.volunteer_id) || r.volunteer_id} · {t('bank.credits', { n: credits(r.cost_cents) })}</div>
      {r.review_reason && <div class="reason">{t(`redemption.reason.${r.review_reason}`)}</div>}
      {declining
        ? <ReasonForm label={t('approve.decline_reason')} onCancel={() => setDeclining(false)} onSubmit={(reason) => act('redemption.decline', { id: r.id, reason })} />
        : (
          <div class="row">
            {own && <p class="muted fine" data-testid="redemption-own">{t('approve.own_redemption')}</p>}
            {!own && ['requested', 'needs_review'].includes(r.status) && <button type="button" class="primary" data-testid="redemption-approve" onClick={() => act('redemption.approve', { id: r.id })}>{t('approve.approve')}</button>}
            {!own && r.debited && ['requested', 'approved'].includes(r.status) && <button type="button" data-testid="redemption-fulfil" onClick={() => act('redemption.fulfil', { id: r.id })}>{t('approve.fulfil')}</button>}
            <button type="button" class="danger" data-testid="redemption-decline" onClick={() => setDeclining(true)}>{t('approve.decline')}</button>
          </div>
        )}
    </li>
  );
}
