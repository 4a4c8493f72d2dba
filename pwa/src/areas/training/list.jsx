// 培训与讲座 (#/training): upcoming lectures and courses with their seats and my part,
// my training record (hours attended), past trainings; staff set up a new one.
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { dayText, hoursText, myRecord, mySignup, seatsLeft, statusTag, trainingLists, whenText } from './model.js';

export function TrainingCard({ training, view, me }) {
  const tag = statusTag(mySignup(view, training, me));
  const full = seatsLeft(training) === 0;
  return (
    <li>
      <a class={`card training-card ${training.status}`} href={`#/training/${training.id}`} data-testid="training-card" data-id={training.id}>
        <span class="date">{whenText(training)}</span>
        <span class="title">{training.topic}</span>
        {training.occasion !== 'other' && <span class="fine occasion-line">{t(`training.occasion.${training.occasion}`)}</span>}
        <span class="muted fine">{training.place} · {t('training.hours_n', { h: hoursText(training.hours) })}</span>
        <span class="muted fine">
          {training.status === 'cancelled' ? t('training.cancelled')
            : full ? (training.waitlisted ? t('training.full_waiting', { n: training.waitlisted }) : t('training.full'))
              : t('training.seats_left', { n: seatsLeft(training), of: training.capacity })}
        </span>
        {tag && <span class={`tag ${tag[1]}`}>{tag[0]}</span>}
      </a>
    </li>
  );
}

/** The Me screen's line: the person's training hours, opening their training record. */
export function TrainingSummary({ app }) {
  const record = myRecord(app.view, app.meta.me || {});
  return (
    <section data-testid="me-training">
      <h2>{t('training.my_record')}</h2>
      <a class="button block" href="#/training" data-testid="me-training-link">
        {record.rows.length ? t('training.me_line', { h: hoursText(record.total), n: record.rows.length }) : t('training.me_none')} ›
      </a>
    </section>
  );
}

export function TrainingList({ app }) {
  const me = app.meta.me || {};
  const view = app.view;
  const { upcoming, past } = trainingLists(view);
  const record = myRecord(view, me);
  return (
    <main class="screen training">
      <a class="back" href="#/hours">‹ {t('event.back')}</a>
      <h1>{t('training.title')}</h1>
      {atLeast(me, 'staff') && me.station && <a class="button primary block" href="#/training/new" data-testid="new-training">+ {t('training.new')}</a>}
      <section class="my-record" data-testid="my-training-record">
        <h2>{t('training.my_record')}</h2>
        {record.rows.length > 0 ? (
          <p><strong class="big-number" data-testid="my-training-hours">{hoursText(record.total)}</strong> {t('training.hours_unit')}
            <span class="muted"> · {t('training.attended_n', { n: record.rows.length })}</span></p>
        ) : <p class="muted" data-testid="my-training-none">{t('training.record_none')}</p>}
        {record.rows.length > 0 && (
          <ul class="plain record">
            {record.rows.map(({ signup, training }) => (
              <li key={signup.id} class="row-between" data-testid="record-line">
                <a href={`#/training/${training.id}`}>{training.topic}</a>
                <span class="muted nowrap">{dayText(training.starts_at)} · {t('training.hours_n', { h: hoursText(signup.hours) })}</span>
              </li>
            ))}
          </ul>
        )}
        {record.rows.length > 0 && <p class="muted fine">{t('training.record_certificate')}</p>}
      </section>
      <h2>{t('training.upcoming')}</h2>
      {upcoming.length === 0 && <p class="muted">{t('training.none_upcoming')}</p>}
      <ul class="plain cards">{upcoming.map((x) => <TrainingCard key={x.id} training={x} view={view} me={me} />)}</ul>
      {past.length > 0 && (
        <details class="past">
          <summary>{t('training.past', { n: past.length })}</summary>
          <ul class="plain cards">{past.map((x) => <TrainingCard key={x.id} training={x} view={view} me={me} />)}</ul>
        </details>
      )}
    </main>
  );
}
