// The station phone: staff check a volunteer in or out (hours.check_in@2). The volunteer
// comes from the volunteer's signed QR code (its link …/#/hours/staff?vc=CODE, or the
// code typed or pasted: sent as volunteer_code, checked by the server), or from the
// station's volunteer list or a typed id (volunteer_id: only the station's own volunteers).
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { SERVICE_TYPES, activitiesOf, activityLabel, clock, duration, minutesBetween, todayIso, volunteerFromCode, volunteerNames } from './common.js';

export function StaffCheckIn({ app, query }) {
  const me = app.meta.me;
  const view = app.view;
  const names = volunteerNames(view);
  const activities = activitiesOf(view, me.station);
  const today = todayIso();
  const [picked, setPicked] = useState(() => volunteerFromCode(query?.get('vc') ? `?vc=${query.get('vc')}` : query?.get('volunteer') || ''));
  const volunteer = picked.volunteer;
  const setVolunteer = (id) => setPicked({ volunteer: id, code: '' });
  const [typed, setTyped] = useState('');
  const [activityId, setActivityId] = useState('');
  const [done, setDone] = useState('');
  const chosen = activityId || (activities.find((a) => a.date === today) || activities[0])?.id || '';
  const open = [...view.hour_log.values()].filter((l) => l.status === 'open' && (!me.station || l.station === me.station));
  const openOfVolunteer = open.find((l) => l.volunteer_id === volunteer);
  const label = (id) => names.get(id) || id;

  const tap = useSubmit();
  const checkIn = () => tap.run(async (intent) => {
    const who = picked.code ? { volunteer_code: picked.code } : { volunteer_id: volunteer };
    await act('hours.check_in', { id: intent.id, activity_id: chosen, at: new Date().toISOString(), ...who }, 2, { key: intent.key });
    setDone(t('staff.checked_in', { name: label(volunteer) }));
  });
  const checkOut = (log) => tap.run(async (intent) => {
    await act('hours.check_out', { id: log.id, at: new Date().toISOString() }, 1, { key: intent.key });
    setDone(t('staff.checked_out', { name: label(log.volunteer_id) }));
  });
  return (
    <main class="screen staff-checkin">
      <a class="back" href="#/hours">‹ {t('event.back')}</a>
      <h1>{t('staff.title')}</h1>
      {activities.length > 0 ? (
        <label>{t('hours.activity')}
          <select name="activity" value={chosen} onChange={(e) => setActivityId(e.currentTarget.value)} data-testid="staff-activity">
            {activities.map((a) => <option key={a.id} value={a.id}>{activityLabel(a, app.view)}</option>)}
          </select>
        </label>
      ) : <p class="notice">{t('hours.no_activities')}</p>}
      <NewActivity app={app} onMade={setActivityId} />
      <h2>{t('staff.volunteer')}</h2>
      <form class="row idrow" onSubmit={(e) => { e.preventDefault(); setPicked(volunteerFromCode(typed)); setDone(''); }}>
        <label class="grow">{t('staff.id_label')}
          <input name="volunteer_id" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autocapitalize="off" autocomplete="off" data-testid="volunteer-id" />
        </label>
        <button type="submit" class="fit" data-testid="use-id">{t('staff.use_id')}</button>
      </form>
      <div class="chips">
        {[...names.entries()].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => (
          <button key={id} type="button" class={`chip ${volunteer === id ? 'primary' : ''}`} onClick={() => { setVolunteer(id); setDone(''); }} data-testid="volunteer-chip">{name}</button>
        ))}
      </div>
      {names.size === 0 && <p class="muted">{t('staff.none_cards')}</p>}
      {volunteer && (
        <section class="selected" data-testid="selected-volunteer">
          <p><strong>{t('staff.selected', { name: label(volunteer) })}</strong> <span class="muted mono">{volunteer}</span></p>
          {picked.code && <p class={picked.expires <= Date.now() ? 'bad' : 'ok fine'} data-testid="scanned-code">
            {picked.expires <= Date.now() ? t('staff.code_expired') : t('staff.code_scanned')}</p>}
          {openOfVolunteer
            ? <button type="button" class="primary block big" onClick={() => checkOut(openOfVolunteer)} disabled={tap.saving} data-testid="staff-check-out">{t('hours.check_out')} · {clock(openOfVolunteer.check_in_at)}</button>
            : <button type="button" class="primary block big" onClick={checkIn} disabled={!chosen || tap.saving} data-testid="staff-check-in">{t('hours.check_in')}</button>}
        </section>
      )}
      {done && <p class="notice" role="status" data-testid="staff-done">{done}</p>}
      {tap.error && <p class="bad" role="alert">{tap.error}</p>}
      <h2>{t('staff.on_duty', { n: open.length })}</h2>
      <ul class="plain">
        {open.map((log) => (
          <li key={log.id} class="log row-between" data-testid="on-duty">
            <span><strong>{label(log.volunteer_id)}</strong> <span class="muted">{clock(log.check_in_at)} · {duration(minutesBetween(log.check_in_at, new Date().toISOString()))}</span></span>
            <button type="button" class="small" onClick={() => checkOut(log)}>{t('hours.check_out')}</button>
          </li>
        ))}
      </ul>
    </main>
  );
}

function NewActivity({ app, onMade }) {
  const me = app.meta.me;
  const events = [...app.view.event.values()].filter((e) => !me.station || e.station === me.station);
  const [form, setForm] = useState({ title: '', service_type: 'event_support', date: todayIso(), event_id: '' });
  const [opened, setOpened] = useState(false);
  const submitting = useSubmit();
  const set = (name) => (e) => { setForm({ ...form, [name]: e.currentTarget.value }); submitting.clear(); };
  function submit(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      if (!form.title.trim() || !me.station) return submitting.fail(t('staff.need_title'));
      await act('activity.create', {
        id: intent.id, station: me.station, title: form.title.trim(), service_type: form.service_type, date: form.date,
        ...(form.event_id ? { event_id: form.event_id } : {}),
      }, 1, { key: intent.key });
      onMade(intent.id);
      setForm({ ...form, title: '', event_id: '' });
      setOpened(false);
      return true;
    });
  }
  return (
    <>
      <details class="manual" open={opened} onToggle={(e) => setOpened(e.currentTarget.open)}>
        <summary>+ {t('staff.new_activity')}</summary>
        <form onSubmit={submit} data-testid="activity-form">
          <label>{t('staff.activity_title')}<input name="title" value={form.title} onInput={set('title')} maxLength={200} required /></label>
          <FieldError fields={submitting.fields} path="title" />
          <label>{t('staff.service_type')}
            <select name="service_type" value={form.service_type} onChange={set('service_type')}>
              {SERVICE_TYPES.map((s) => <option key={s} value={s}>{t(`service.${s}`)}</option>)}
            </select>
          </label>
          <label>{t('hours.date')}<input name="date" type="date" value={form.date} onInput={set('date')} required /></label>
          <FieldError fields={submitting.fields} path="date" />
          <label>{t('staff.event')}
            <select name="event_id" value={form.event_id} onChange={set('event_id')}>
              <option value="">{t('staff.no_event')}</option>
              {events.map((e) => <option key={e.id} value={e.id}>{e.title} · {e.date}</option>)}
            </select>
          </label>
          <FormStatus form={submitting} shown={['title', 'date']} showSaved={false} />
          <SaveButton form={submitting} label={t('staff.create')} testid="create-activity" />
        </form>
      </details>
      {submitting.saved && <p class="ok" role="status" data-testid="form-saved">✓ {t('staff.activity_made')}</p>}
    </>
  );
}
