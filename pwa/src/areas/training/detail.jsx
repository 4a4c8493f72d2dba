// One training (#/training/<id>): what, when, where, the seats; my part (sign up,
// withdraw, my place on the waiting list, attended with my hours), my entry code for the
// door (works offline: the last code fetched is kept), the materials, the feedback form
// after attending. Staff: the door, edit, the sign-up list, feedback, cancel.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { act, refresh } from '../../state.js';
import { request } from '../../sync/engine.js';
import { setMeta } from '../../sync/store.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { AttachmentList } from '../../ui/photos.jsx';
import { timeOf } from '../../ui/format.js';
import { entryUrl, hasEnded, hasStarted, hoursText, mySignup, seatsLeft, statusTag, whenText } from './model.js';

export function TrainingDetail({ app, params }) {
  const [id] = params;
  const me = app.meta.me || {};
  const view = app.view;
  const training = view.training.get(id);
  if (!training) {
    return <main class="screen training"><a class="back" href="#/training">‹ {t('event.back')}</a><h1>{t('training.title')}</h1><p class="notice">{t('training.not_found')}</p></main>;
  }
  const staff = atLeast(me, 'staff') && (me.memberships || [{ station: me.station }]).some((m) => !m.station || m.station === training.station);
  const mine = mySignup(view, training, me);
  return (
    <main class="screen training">
      <a class="back" href="#/training">‹ {t('training.title')}</a>
      <h1>{training.topic}</h1>
      <div class="tags">
        {training.occasion !== 'other' && <span class="tag occasion">{t(`training.occasion.${training.occasion}`)}</span>}
        <span class="tag">{t(`training.audience.${training.audience}`)}</span>
        {training.pending && <span class="tag pending">{t('training.pending')}</span>}
      </div>
      {training.status === 'cancelled' && <p class="notice bad" data-testid="training-cancelled">{t('training.cancelled_because', { reason: training.cancel_reason || '' })}</p>}
      <dl>
        <dt>{t('training.speaker')}</dt><dd>{training.speaker}</dd>
        <dt>{t('training.when')}</dt><dd>{whenText(training)}</dd>
        <dt>{t('training.place')}</dt><dd>{training.place}</dd>
        <dt>{t('training.hours')}</dt><dd>{t('training.hours_n', { h: hoursText(training.hours) })}</dd>
        <dt>{t('training.seats')}</dt>
        <dd data-testid="training-seats">{t(training.confirmed > training.capacity ? 'training.seats_over' : 'training.seats_line',
          { taken: training.confirmed, of: training.capacity, n: training.waitlisted })}</dd>
      </dl>
      {training.description && <p class="notes">{training.description}</p>}
      <MyPart app={app} training={training} mine={mine} />
      <AttachmentList app={app} refs={training.attachments} title={t('training.materials')} testid="training-materials" />
      {mine?.status === 'attended' && <Feedback app={app} training={training} />}
      {staff && <StaffPart app={app} training={training} />}
    </main>
  );
}

function MyPart({ app, training, mine }) {
  const form = useSubmit();
  const [confirming, setConfirming] = useState(false);
  const open = training.status === 'open' && !hasStarted(training);
  const signUp = () => form.run(async (intent) => {
    await act('training.signup', { id: intent.id, training_id: training.id }, 1, { key: intent.key });
    return true;
  });
  const withdraw = () => form.run(async (intent) => {
    await act('training.withdraw', { training_id: training.id }, 1, { key: intent.key });
    setConfirming(false);
    return true;
  });
  const tag = statusTag(mine);
  return (
    <section class="my-part" data-testid="my-part">
      {tag && <p><span class={`tag ${tag[1]}`} data-testid="my-status">{tag[0]}</span>{mine.pending && <span class="muted fine"> · {t('training.pending')}</span>}</p>}
      {mine?.status === 'waitlisted' && <p class="muted fine">{t('training.waitlist_note')}</p>}
      {mine?.status === 'attended' && <p class="ok" data-testid="my-hours">✓ {t('training.attended_hours', { h: hoursText(mine.hours), when: timeOf(mine.attended_at) })}</p>}
      {!mine && open && (
        <button type="button" class="primary block big" onClick={signUp} disabled={form.saving} data-testid="training-signup">
          {seatsLeft(training) > 0 ? t('training.signup') : t('training.signup_waitlist')}
        </button>
      )}
      {!mine && !open && training.status === 'open' && <p class="muted">{t('training.signup_closed')}</p>}
      {mine && training.status === 'open' && mine.status !== 'attended' && !hasEnded(training) && <EntryCode app={app} training={training} />}
      {mine && ['confirmed', 'waitlisted'].includes(mine.status) && !hasStarted(training) && (
        confirming ? (
          <div class="row">
            <button type="button" class="danger" onClick={withdraw} disabled={form.saving} data-testid="training-withdraw-confirm">{t('training.withdraw_confirm')}</button>
            <button type="button" onClick={() => setConfirming(false)}>{t('training.keep')}</button>
          </div>
        ) : <button type="button" class="block" onClick={() => setConfirming(true)} data-testid="training-withdraw">{t('training.withdraw')}</button>
      )}
      <FormStatus form={form} showSaved={false} />
    </section>
  );
}

/** The person's entry code: a QR of the door link with their signed code. */
function EntryCode({ app, training }) {
  const me = app.meta.me || {};
  const held = app.meta.training_code?.user_id === me.user ? app.meta.training_code : null;
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!shown || !navigator.onLine || !app.meta.token) return;
    request('GET', '/api/v1/training/code', app.meta.token)
      .then((fresh) => setMeta('training_code', fresh)).then(refresh)
      .catch(() => { /* offline: the last code stays */ });
  }, [shown]);
  if (!shown) return <button type="button" class="block" onClick={() => setShown(true)} data-testid="show-entry-code">{t('training.show_code')}</button>;
  const expired = held && Date.parse(held.expires_at) <= Date.now();
  return (
    <section class="entry" data-testid="entry-code">
      <h2>{t('training.entry_code')}</h2>
      {held ? (
        <>
          <EntryQr text={entryUrl(location.origin, training.id, held.code)} />
          <p class="muted fine">{t('training.entry_hint')}</p>
          <p class={expired ? 'bad' : 'muted fine'}>{expired ? t('training.code_expired') : t('me.volunteer_qr_until', { when: timeOf(held.expires_at) })}</p>
        </>
      ) : <p class="notice" data-testid="entry-code-missing">{t('training.code_missing')}</p>}
    </section>
  );
}

/** The QR code with a quiet zone of two modules (a camera needs it). */
function EntryQr({ text }) {
  const [svg, setSvg] = useState('');
  const box = useRef(null);
  useEffect(() => {
    let live = true;
    import('uqr').then(({ renderSVG }) => live && setSvg(renderSVG(text, { border: 2 })));
    return () => { live = false; };
  }, [text]);
  useEffect(() => {  // shown to staff at the door: the whole code in view, clear of the tabs
    if (svg) box.current?.scrollIntoView({ block: 'center' });
  }, [svg]);
  return <div ref={box} class="qr" role="img" aria-label={t('training.entry_code')} data-testid="entry-qr" dangerouslySetInnerHTML={{ __html: svg }} />;
}

function Feedback({ app, training }) {
  const me = app.meta.me || {};
  const given = app.view.training_feedback.get(`${training.id}:${me.user}`);
  const [score, setScore] = useState(given?.score || 0);
  const [useful, setUseful] = useState(given?.useful || 0);
  const [comment, setComment] = useState(given?.comment || '');
  const form = useSubmit();
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!score || !useful) return form.fail(t('training.feedback_need'));
      await act('training.feedback', { training_id: training.id, score, useful, comment: comment.trim() }, 1, { key: intent.key });
      return true;
    });
  }
  const scale = (name, value, set) => (
    <div class="scores" role="radiogroup" aria-label={t(`training.feedback_${name}`)}>
      {[1, 2, 3, 4, 5].map((n) => (
        <label key={n}>
          <input type="radio" name={name} value={n} checked={value === n} onChange={() => { set(n); form.clear(); }} data-testid={`feedback-${name}-${n}`} />
          <span>{n}</span>
        </label>
      ))}
    </div>
  );
  return (
    <form class="feedback" onSubmit={submit} data-testid="training-feedback">
      <h2>{t('training.feedback')}</h2>
      {given && <p class="ok fine" data-testid="feedback-given">✓ {t('training.feedback_given')}</p>}
      <p class="field-label">{t('training.feedback_score')}</p>
      {scale('score', score, setScore)}
      <p class="field-label">{t('training.feedback_useful')}</p>
      {scale('useful', useful, setUseful)}
      <label>{t('training.feedback_comment')}
        <textarea name="comment" value={comment} maxLength={2000} onInput={(e) => { setComment(e.currentTarget.value); form.clear(); }} data-testid="feedback-comment" />
      </label>
      <p class="muted fine">{t('training.feedback_private')}</p>
      <FieldError fields={form.fields} path="comment" />
      <FormStatus form={form} shown={['comment']} savedText={t('training.feedback_saved')} />
      <SaveButton form={form} label={t('training.feedback_send')} testid="feedback-send" />
    </form>
  );
}

function StaffPart({ app, training }) {
  const view = app.view;
  const signups = [...view.training_signup.values()].filter((s) => s.training_id === training.id && s.status !== 'cancelled');
  const order = { attended: 0, confirmed: 1, waitlisted: 2 };
  signups.sort((a, b) => order[a.status] - order[b.status] || (a.position ?? 0) - (b.position ?? 0) || a.name.localeCompare(b.name));
  const feedback = [...view.training_feedback.values()].filter((f) => f.training_id === training.id);
  const average = (key) => (feedback.length ? (feedback.reduce((s, f) => s + f[key], 0) / feedback.length).toFixed(1) : '–');
  return (
    <section class="staff-part" data-testid="training-staff">
      <h2>{t('training.staff_tools')}</h2>
      {training.status === 'open' && <a class="button primary block" href={`#/training/${training.id}/door`} data-testid="to-door">{t('training.door')}</a>}
      {training.status === 'open' && <a class="button block" href={`#/training/${training.id}/edit`} data-testid="edit-training">{t('training.edit')}</a>}
      <h2>{t('training.people', { n: signups.length })}</h2>
      <ul class="plain people" data-testid="signup-list">
        {signups.map((s) => (
          <li key={s.id} data-testid="signup-line" data-user={s.user}>
            <span class="who"><strong>{s.name}</strong><span class="muted fine">{s.walk_in ? t('training.walk_in') : timeOf(s.signed_up_at)}</span></span>
            <span class={`tag ${s.status === 'waitlisted' ? 'waiting' : 'ok'}`}>{statusTag(s)[0]}</span>
          </li>
        ))}
      </ul>
      {feedback.length > 0 && (
        <>
          <h2>{t('training.feedback_summary', { n: feedback.length })}</h2>
          <p data-testid="feedback-average">{t('training.feedback_average', { score: average('score'), useful: average('useful') })}</p>
          <ul class="plain record">{feedback.filter((f) => f.comment).map((f) => <li key={f.id} class="notes">“{f.comment}”</li>)}</ul>
        </>
      )}
      {training.status === 'open' && !training.attended && <Cancel training={training} />}
    </section>
  );
}

function Cancel({ training }) {
  const [reason, setReason] = useState('');
  const [open, setOpen] = useState(false);
  const form = useSubmit();
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!reason.trim()) return form.fail(t('training.cancel_need_reason'));
      await act('training.cancel', { id: training.id, reason: reason.trim() }, 1, { key: intent.key });
      return true;
    });
  }
  return (
    <details class="manual" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{t('training.cancel')}</summary>
      <form onSubmit={submit}>
        <label>{t('training.cancel_reason')}<input name="reason" value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} /></label>
        <FormStatus form={form} showSaved={false} />
        <SaveButton form={form} label={t('training.cancel_confirm')} class="danger block" testid="cancel-training" />
      </form>
    </details>
  );
}
