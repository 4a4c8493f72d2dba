// Stations and events: the list, one event, and the form that creates or edits one.
// An edit sends only the fields that changed, with the field_hlc this phone showed for
// each as `base`, so the server can tell a sequential edit from a concurrent one.
import { useState } from 'preact/hooks';
import { AttachmentList, PhotoPicker } from '../../ui/photos.jsx';
import { configValue } from '../../config.js';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { atLeast } from '../../roles.js';
import { newId } from '../../sync/ids.js';
import { baseFor } from '../../sync/local.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { dateLabel, todayIso } from '../../ui/format.js';

const PHONE = /^\+?[0-9 -]{5,20}$/;

function stationName(app, code) {
  const station = app.view.station.get(code);
  return station ? station.name : code;
}

export function EventList({ app }) {
  const me = app.meta.me;
  const today = todayIso();
  const events = [...app.view.event.values()];
  const coming = events.filter((e) => e.date >= today).sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.title.localeCompare(b.title)));
  const past = events.filter((e) => e.date < today).sort((a, b) => (a.date < b.date ? 1 : -1));
  const stations = [...app.view.station.values()].sort((a, b) => a.code.localeCompare(b.code));
  const manyStations = new Set(events.map((e) => e.station)).size > 1;
  const canCreate = atLeast(me, 'staff');
  return (
    <main class="screen events">
      <h1>{me?.station ? stationName(app, me.station) : t('events.title')}</h1>
      {canCreate && <a class="button primary block" href="#/events/new" data-testid="new-event">+ {t('events.new')}</a>}
      {!app.meta.last_sync_at && !events.length && <p class="muted">{t('events.loading')}</p>}
      {app.meta.last_sync_at && !events.length && <p class="muted">{t(canCreate ? 'events.none' : 'events.none_readonly')}</p>}
      {coming.length > 0 && <EventGroup title={t('events.upcoming')} events={coming} app={app} manyStations={manyStations} today={today} />}
      {past.length > 0 && <EventGroup title={t('events.past')} events={past} app={app} manyStations={manyStations} today={today} />}
      {stations.length > 0 && (
        <details class="stations">
          <summary>{t('stations.count', { n: stations.length })}</summary>
          <ul class="plain">
            {stations.map((s) => <li key={s.code}><strong>{s.name}</strong> <span class="muted">{s.code} · {s.district}</span></li>)}
          </ul>
        </details>
      )}
    </main>
  );
}

function EventGroup({ title, events, app, manyStations, today }) {
  return (
    <section>
      <h2>{title}</h2>
      <ul class="cards">
        {events.map((e) => (
          <li key={e.id}>
            <a class="card" href={`#/events/${e.id}`} data-testid="event-card" data-id={e.id}>
              <span class="date">{e.date === today ? t('events.today') : dateLabel(e.date)}</span>
              <span class="title">{e.title}</span>
              {manyStations && <span class="muted">{stationName(app, e.station)}</span>}
              {e.pending && <span class="tag pending">{t('events.pending')}</span>}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function EventDetail({ app, params }) {
  const [id] = params;
  const event = app.view.event.get(id);
  const me = app.meta.me;
  if (!event) return <main class="screen"><p>{t('event.missing')}</p><a class="button" href="#/events">{t('event.back')}</a></main>;
  const conflicts = [...app.view.conflict.values()].filter((c) => c.record_id === id && c.status === 'open');
  async function remove() {
    if (!confirm(t('event.delete_confirm'))) return;
    await act('event.delete', { id });
    go('/events');
  }
  return (
    <main class="screen detail" data-testid="event-detail">
      <a class="back" href="#/events">‹ {t('event.back')}</a>
      <h1 data-testid="event-title">{event.title}</h1>
      {event.pending && <p class="tag pending">{t('events.pending')}</p>}
      <dl>
        <dt>{t('event.date')}</dt><dd data-testid="event-date">{event.date} <span class="muted">{dateLabel(event.date)}</span></dd>
        <dt>{t('event.station')}</dt><dd>{stationName(app, event.station)}</dd>
        <dt>{t('event.contact_phone')}</dt><dd data-testid="event-phone">{event.contact_phone ?? (atLeast(me, 'staff') ? '—' : t('event.hidden'))}</dd>
        <dt>{t('event.notes')}</dt><dd class="notes" data-testid="event-notes">{event.notes || '—'}</dd>
        <dt>{t('event.created_by')}</dt><dd>{event.created_by}</dd>
      </dl>
      <AttachmentList app={app} refs={event.attachments} title={t('event.photos')} testid="event-photos" />
      {conflicts.length > 0 && atLeast(me, 'manager') && <a class="button warn block" href="#/review">{t('event.open_conflicts', { n: conflicts.length })}</a>}
      <div class="actions">
        {atLeast(me, 'staff') && <a class="button primary" href={`#/events/${id}/edit`} data-testid="edit-event">{t('event.edit')}</a>}
        {atLeast(me, 'manager') && <button type="button" class="danger" onClick={remove}>{t('event.delete')}</button>}
      </div>
    </main>
  );
}

export function EventForm({ app, params }) {
  const id = params?.[0];
  const me = app.meta.me;
  const existing = id ? app.view.event.get(id) : null;
  const stations = [...app.view.station.values()];
  const [form, setForm] = useState(() => ({
    station: existing?.station || me?.station || stations[0]?.code || '',
    date: existing?.date || todayIso(),
    title: existing?.title || '',
    notes: existing?.notes || '',
    contact_phone: existing?.contact_phone || '',
    photos: existing?.attachments || [],
  }));
  const submitting = useSubmit();
  if (id && !existing) return <main class="screen"><p>{t('event.missing')}</p><a class="button" href="#/events">{t('event.back')}</a></main>;
  const set = (name) => (e) => { setForm({ ...form, [name]: e.currentTarget.value }); submitting.clear(); };

  function save(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      const title = form.title.trim();
      const phone = form.contact_phone.trim();
      if (!title) return submitting.fail(t('form.required', { field: t('event.title') }));
      if (!/^\d{4}-\d{2}-\d{2}$/.test(form.date)) return submitting.fail(t('form.required', { field: t('event.date') }));
      if (phone && !PHONE.test(phone)) return submitting.fail(t('form.bad_phone'));
      const values = { date: form.date, title, notes: form.notes, contact_phone: phone || null };
      if (!existing) {
        await act('event.create', { id: intent.id, station: form.station, ...values, attachments: form.photos }, 1, { key: intent.key });
        go(`/events/${intent.id}`, { replace: true });
        return true;
      }
      const fields = Object.fromEntries(Object.entries(values).filter(([k, v]) => (existing[k] ?? null) !== v && !(k === 'contact_phone' && existing[k] == null && v == null)));
      // photos of an existing event are added and removed on their own (attachment.add/remove)
      const had = existing.attachments || [];
      const added = form.photos.filter((p) => !had.some((h) => h.sha256 === p.sha256));
      const removed = had.filter((h) => !form.photos.some((p) => p.sha256 === h.sha256));
      if (!Object.keys(fields).length && !added.length && !removed.length) return submitting.fail(t('event.no_changes'));
      if (Object.keys(fields).length) await act('event.update', { id, fields, base: baseFor(existing, fields) }, 1, { key: intent.key });
      if (added.length) await act('attachment.add', { record_type: 'event', record_id: id, attachments: added }, 1, { key: (intent.extra.addKey ||= newId()) });
      for (const gone of removed) await act('attachment.remove', { record_type: 'event', record_id: id, sha256: gone.sha256 }, 1, { key: (intent.extra[`rm:${gone.sha256}`] ||= newId()) });
      go(`/events/${id}`, { replace: true });
      return true;
    });
  }
  const err = (path) => <FieldError fields={submitting.fields} path={existing ? `fields.${path}` : path} />;

  return (
    <main class="screen form">
      <a class="back" href={id ? `#/events/${id}` : '#/events'}>‹ {t('event.cancel')}</a>
      <h1>{existing ? t('event.edit_title') : t('events.new')}</h1>
      <form onSubmit={save} data-testid="event-form">
        {!existing && !me?.station && stations.length > 0 && (
          <label>{t('event.station')}
            <select name="station" value={form.station} onChange={set('station')}>
              {stations.map((s) => <option key={s.code} value={s.code}>{s.name} ({s.code})</option>)}
            </select>
          </label>
        )}
        <label>{t('event.title')}<input name="title" value={form.title} onInput={set('title')} maxLength={200} required /></label>
        {err('title')}
        <label>{t('event.date')}<input name="date" type="date" value={form.date} onInput={set('date')} required /></label>
        {err('date')}
        <label>{t('event.contact_phone')}<input name="contact_phone" type="tel" inputMode="tel" value={form.contact_phone} onInput={set('contact_phone')} maxLength={20} /></label>
        {err('contact_phone')}
        <label>{t('event.notes')}<textarea name="notes" rows="4" value={form.notes} onInput={set('notes')} /></label>
        {err('notes')}
        <PhotoPicker app={app} value={form.photos} onChange={(photos) => { setForm({ ...form, photos }); submitting.clear(); }}
          label={t('event.photos')} testid="event-photos-pick" maxBytes={configValue(app.meta, 'file_max_bytes')} />
        <FormStatus form={submitting} shown={['title', 'date', 'contact_phone', 'notes', 'fields']} />
        <SaveButton form={submitting} label={t('event.save')} testid="save-event" />
        {!app.online && <p class="muted">{t('event.saved_offline')}</p>}
      </form>
    </main>
  );
}
