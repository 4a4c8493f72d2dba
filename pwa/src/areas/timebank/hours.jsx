// The volunteer's service screen: register once, check in and out (works offline; the
// running session shows with its elapsed time), enter hours by hand, and my hours with
// their status and reasons. Staff see their tools (check volunteers in, review) on top.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { act } from '../../state.js';
import { useDraft, useSubmit } from '../../ui/forms.js';
import { DraftNote, FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { activitiesOf, credits, activityLabel, clock, duration, localIso, minutesBetween, reasonText, span, todayIso } from './common.js';
import { VolunteerQr } from './qr.jsx';

export function HoursScreen({ app }) {
  const me = app.meta.me || {};
  const view = app.view;
  const profile = view.volunteer.get(me.user);
  const staff = atLeast(me, 'staff');
  const logs = [...view.hour_log.values()].filter((l) => l.volunteer_id === me.user)
    .sort((a, b) => (a.check_in_at < b.check_in_at ? 1 : -1));
  return (
    <main class="screen hours">
      <h1>{t('hours.title')}</h1>
      {staff && <StaffTools app={app} />}
      <a class="button block" href="#/training" data-testid="to-training">{t('hours.to_training')} ›</a>
      {!profile && !staff && <Register app={app} />}
      {profile && <CheckInOut app={app} logs={logs} />}
      {profile && <a class="button block" href="#/timebank" data-testid="to-timebank">{t('hours.to_timebank')} ›</a>}
      {profile && !staff && <VolunteerQr app={app} />}
      {profile && <ManualEntry app={app} />}
      {profile && <MyHours logs={logs} view={view} />}
    </main>
  );
}

function StaffTools({ app }) {
  const me = app.meta.me;
  const waitingHours = [...app.view.hour_log.values()].filter((l) => l.status === 'submitted' && l.volunteer_id !== me.user).length;
  const waitingRedemptions = [...app.view.redemption.values()].filter((r) => ['requested', 'needs_review', 'approved'].includes(r.status)).length;
  return (
    <section>
      <a class="button primary block" href="#/hours/staff" data-testid="staff-checkin-link">{t('hours.staff_checkin')}</a>
      <a class={`button block ${waitingHours + waitingRedemptions ? 'warn' : ''}`} href="#/hours/review" data-testid="review-hours-link">
        {t('hours.review_link', { n: waitingHours + waitingRedemptions })}
      </a>
    </section>
  );
}

function Register({ app }) {
  const me = app.meta.me;
  const [name, setName] = useState('');
  const [phone, setPhone] = useState('');
  const form = useSubmit();
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!name.trim() || !me.station) return form.fail(t('hours.need_name'));
      await act('volunteer.register', { user_id: me.user, name: name.trim(), stations: [me.station], ...(phone.trim() ? { phone: phone.trim() } : {}) }, 1, { key: intent.key });
      return true;
    });
  }
  return (
    <form onSubmit={submit} data-testid="register-form">
      <h2>{t('hours.register_title')}</h2>
      <p class="muted">{t('hours.register_help')}</p>
      <label>{t('hours.name')}<input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={100} required /></label>
      <FieldError fields={form.fields} path="name" />
      <label>{t('hours.phone')}<input name="phone" type="tel" inputMode="tel" value={phone} onInput={(e) => setPhone(e.currentTarget.value)} maxLength={20} /></label>
      <FieldError fields={form.fields} path="phone" />
      <FormStatus form={form} shown={['name', 'phone']} />
      <SaveButton form={form} label={t('hours.register')} testid="register" />
    </form>
  );
}

/** Re-render every 30 s so the elapsed time of a running session moves. */
function useTick(active) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => tick((n) => n + 1), 30000);
    return () => clearInterval(timer);
  }, [active]);
}

function CheckInOut({ app, logs }) {
  const activities = activitiesOf(app.view, null);
  const running = logs.find((l) => l.status === 'open');
  const today = todayIso();
  const [activityId, setActivityId] = useState('');
  const tap = useSubmit();
  useTick(!!running);
  const chosen = activityId || (activities.find((a) => a.date === today) || activities[0])?.id || '';
  if (running) {
    const activity = app.view.service_activity.get(running.activity_id);
    return (
      <section class="running" data-testid="running-session">
        <div class="running-label">{t('hours.running')}{running.pending && <span class="tag pending">{t('events.pending')}</span>}</div>
        <div class="running-title">{activity?.title || running.activity_id.slice(0, 8)}</div>
        <div class="muted">{t('hours.since', { time: clock(running.check_in_at), elapsed: duration(minutesBetween(running.check_in_at, new Date().toISOString())) })}</div>
        <button type="button" class="primary block big" data-testid="check-out" disabled={tap.saving}
          onClick={() => tap.run((intent) => act('hours.check_out', { id: running.id, at: new Date().toISOString() }, 1, { key: intent.key }))}>{t('hours.check_out')}</button>
      </section>
    );
  }
  if (!activities.length) return <p class="notice">{t('hours.no_activities')}</p>;
  return (
    <section>
      <label>{t('hours.activity')}
        <select name="activity" value={chosen} onChange={(e) => setActivityId(e.currentTarget.value)} data-testid="activity-select">
          {activities.map((a) => <option key={a.id} value={a.id}>{activityLabel(a, app.view)}</option>)}
        </select>
      </label>
      <button type="button" class="primary block big" data-testid="check-in" disabled={!chosen || tap.saving}
        onClick={() => tap.run((intent) => act('hours.check_in', { id: intent.id, activity_id: chosen, at: new Date().toISOString() }, 1, { key: intent.key }))}>
        {t('hours.check_in')}
      </button>
      {!app.online && <p class="muted">{t('hours.offline_ok')}</p>}
    </section>
  );
}

function ManualEntry({ app }) {
  const activities = activitiesOf(app.view, null);
  const blank = () => ({ activity: '', date: todayIso(), from: '09:00', to: '11:00', note: '' });
  const [form, setForm] = useState(blank);
  const [opened, setOpened] = useState(false);
  const submitting = useSubmit();
  // a restored draft opens the folded form, so it is seen
  const draft = useDraft(app.meta.me, 'hours.manual', form, (value) => { setForm(value); setOpened(true); }, blank());
  const set = (name) => (e) => { setForm({ ...form, [name]: e.currentTarget.value }); submitting.clear(); };
  function submit(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      const activity = form.activity || activities[0]?.id;
      if (!activity) return submitting.fail(t('hours.choose_activity'));
      const checkIn = localIso(form.date, form.from);
      const checkOut = localIso(form.date, form.to);
      if (checkOut <= checkIn) return submitting.fail(t('hours.bad_times'));
      await act('hours.manual', { id: intent.id, activity_id: activity, check_in_at: checkIn, check_out_at: checkOut, note: form.note.trim() }, 1, { key: intent.key });
      await draft.done();
      setForm(blank());
      setOpened(false);
      return true;
    });
  }
  if (!activities.length) return null;
  return (
    <>
      <details class="manual" open={opened} onToggle={(e) => setOpened(e.currentTarget.open)}>
        <summary>{t('hours.manual')}</summary>
        <form onSubmit={submit} data-testid="manual-form">
          <DraftNote draft={draft} />
          <label>{t('hours.activity')}
            <select name="activity" value={form.activity} onChange={set('activity')}>
              {activities.map((a) => <option key={a.id} value={a.id}>{activityLabel(a, app.view)}</option>)}
            </select>
          </label>
          <label>{t('hours.date')}<input name="date" type="date" value={form.date} onInput={set('date')} required /></label>
          <div class="row">
            <label>{t('hours.from')}<input name="from" type="time" value={form.from} onInput={set('from')} required /></label>
            <label>{t('hours.to')}<input name="to" type="time" value={form.to} onInput={set('to')} required /></label>
          </div>
          <label>{t('hours.note')}<input name="note" value={form.note} onInput={set('note')} /></label>
          <FieldError fields={submitting.fields} path="note" />
          <FormStatus form={submitting} shown={['note']} showSaved={false} />
          <SaveButton form={submitting} label={t('hours.submit')} testid="manual-submit" />
        </form>
      </details>
      {submitting.saved && <p class="ok" role="status" data-testid="form-saved">✓ {t('hours.manual_saved')}</p>}
    </>
  );
}

export function LogLine({ log, view, name }) {
  const activity = view.service_activity.get(log.activity_id);
  const undecided = (log.status === 'open' || log.status === 'submitted') && log.flags?.length > 0; // flags are for the reviewer
  return (
    <li class={`log status-${log.status}`} data-testid="hour-log" data-status={log.status} data-id={log.id}>
      <div class="log-head">
        <strong>{name || activity?.title || log.activity_id.slice(0, 8)}</strong>
        <span class={`tag st-${log.status}`} data-testid="log-status">{t(`log.status.${log.status}`)}</span>
      </div>
      {name && activity && <div class="muted">{activityLabel(activity, view)}</div>}
      <div>{span(log)}{log.minutes != null && <> · {duration(log.minutes)}</>}
        {log.credited_cents ? <> · +{t('bank.credits', { n: credits(log.credited_cents) })}</> : null}</div>
      {(undecided || log.source !== 'self' || log.pending) && (
        <div class="tags">
          {log.pending && <span class="tag pending">{t('events.pending')}</span>}
          {log.source && log.source !== 'self' && <span class="tag">{t(`log.source.${log.source}`)}</span>}
          {undecided && (log.flags || []).map((f) => <span key={f} class="tag flag" data-testid="log-flag">{t(`log.flag.${f}`)}</span>)}
        </div>
      )}
      {log.decision_reason && <div class="reason" data-testid="log-reason">{t('hours.reason', { reason: reasonText(log.decision_reason) })}</div>}
    </li>
  );
}

function MyHours({ logs, view }) {
  const approved = logs.filter((l) => l.status === 'approved').reduce((sum, l) => sum + (l.minutes || 0), 0);
  return (
    <section>
      <h2>{t('hours.mine')} <span class="muted fine">{t('hours.total_approved', { h: duration(approved) })}</span></h2>
      {logs.length === 0 && <p class="muted">{t('hours.none')}</p>}
      <ul class="plain">{logs.map((log) => <LogLine key={log.id} log={log} view={view} />)}</ul>
    </section>
  );
}
