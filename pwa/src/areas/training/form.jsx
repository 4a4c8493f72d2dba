// Set up a training (#/training/new) or edit one (#/training/<id>/edit), staff: topic,
// speaker, day and times, place, seats, hours credited, audience, occasion, description
// and materials (photos or PDF, sent like any attachment). Works offline.
import { useState } from 'preact/hooks';
import { configValue } from '../../config.js';
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { PhotoPicker } from '../../ui/photos.jsx';
import { todayIso } from '../../ui/format.js';
import { AUDIENCES, OCCASIONS } from './model.js';

const pad = (n) => String(n).padStart(2, '0');
const localDay = (iso) => { const d = new Date(iso); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; };
const localHm = (iso) => { const d = new Date(iso); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; };
const toIso = (day, hm) => new Date(`${day}T${hm}:00`).toISOString();

function blank() {
  return { topic: '', speaker: '', day: todayIso(), from: '14:00', to: '16:00', place: '', capacity: '30', hours: '2',
    audience: 'all', occasion: 'other', description: '' };
}

function fromTraining(x) {
  return { topic: x.topic, speaker: x.speaker, day: localDay(x.starts_at), from: localHm(x.starts_at), to: localHm(x.ends_at),
    place: x.place, capacity: String(x.capacity), hours: String(x.hours), audience: x.audience, occasion: x.occasion,
    description: x.description };
}

export function TrainingForm({ app, params }) {
  const me = app.meta.me || {};
  const editing = params?.[0] ? app.view.training.get(params[0]) : null;
  const [form, setForm] = useState(() => (editing ? fromTraining(editing) : blank()));
  const [files, setFiles] = useState([]);
  const submitting = useSubmit();
  const set = (name) => (e) => { setForm({ ...form, [name]: e.currentTarget.value }); submitting.clear(); };

  function args() {
    return {
      topic: form.topic.trim(), speaker: form.speaker.trim(), starts_at: toIso(form.day, form.from), ends_at: toIso(form.day, form.to),
      place: form.place.trim(), capacity: Number(form.capacity), hours: Number(form.hours), audience: form.audience,
      occasion: form.occasion, description: form.description.trim(),
    };
  }

  function submit(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      if (!form.topic.trim() || !form.speaker.trim() || !form.place.trim()) return submitting.fail(t('training.need_basics'));
      if (form.to <= form.from) return submitting.fail(t('training.need_end_after_start'));
      const values = args();
      if (editing) {
        const before = fromTraining(editing);
        const fields = {};
        for (const [name, value] of Object.entries(values)) {
          const old = name === 'starts_at' ? toIso(before.day, before.from) : name === 'ends_at' ? toIso(before.day, before.to) : editing[name];
          if (value !== old) fields[name] = value;
        }
        if (!Object.keys(fields).length && !files.length) return submitting.fail(t('training.nothing_changed'));
        await act('training.update', { id: editing.id, fields, ...(files.length ? { attachments: files } : {}) }, 1, { key: intent.key });
        location.hash = `#/training/${editing.id}`;
        return true;
      }
      await act('training.create', { id: intent.id, station: me.station, ...values, attachments: files }, 1, { key: intent.key });
      location.hash = `#/training/${intent.id}`;
      return true;
    });
  }

  return (
    <main class="screen training">
      <a class="back" href={editing ? `#/training/${editing.id}` : '#/training'}>‹ {t('event.back')}</a>
      <h1>{editing ? t('training.edit') : t('training.new')}</h1>
      <form onSubmit={submit} data-testid="training-form">
        <label>{t('training.topic')}<input name="topic" value={form.topic} onInput={set('topic')} maxLength={200} required data-testid="training-topic" /></label>
        <FieldError fields={submitting.fields} path="topic" />
        <label>{t('training.speaker')}<input name="speaker" value={form.speaker} onInput={set('speaker')} maxLength={100} required /></label>
        <FieldError fields={submitting.fields} path="speaker" />
        <label>{t('training.occasion')}
          <select name="occasion" value={form.occasion} onChange={set('occasion')} data-testid="training-occasion">
            {OCCASIONS.map((o) => <option key={o} value={o}>{t(`training.occasion.${o}`)}</option>)}
          </select>
        </label>
        <label>{t('training.day')}<input name="day" type="date" value={form.day} onInput={set('day')} required /></label>
        <div class="two">
          <label>{t('training.from')}<input name="from" type="time" value={form.from} onInput={set('from')} required /></label>
          <label>{t('training.to')}<input name="to" type="time" value={form.to} onInput={set('to')} required /></label>
        </div>
        <FieldError fields={submitting.fields} path="starts_at" />
        <FieldError fields={submitting.fields} path="ends_at" />
        <label>{t('training.place')}<input name="place" value={form.place} onInput={set('place')} maxLength={200} required /></label>
        <FieldError fields={submitting.fields} path="place" />
        <div class="two">
          <label>{t('training.capacity')}<input name="capacity" type="number" inputMode="numeric" min="1" max="5000" value={form.capacity} onInput={set('capacity')} required /></label>
          <label>{t('training.hours_credited')}<input name="hours" type="number" inputMode="decimal" min="0" max="40" step="0.5" value={form.hours} onInput={set('hours')} required /></label>
        </div>
        <FieldError fields={submitting.fields} path="capacity" />
        <FieldError fields={submitting.fields} path="fields.capacity" />
        <FieldError fields={submitting.fields} path="hours" />
        <label>{t('training.audience')}
          <select name="audience" value={form.audience} onChange={set('audience')}>
            {AUDIENCES.map((a) => <option key={a} value={a}>{t(`training.audience.${a}`)}</option>)}
          </select>
        </label>
        <label>{t('training.description')}<textarea name="description" value={form.description} onInput={set('description')} maxLength={4000} /></label>
        <PhotoPicker app={app} value={files} onChange={setFiles} kind="document" pdf label={editing ? t('training.add_materials') : t('training.materials')} testid="training-files"
          maxBytes={configValue(app.meta, 'file_max_bytes')} />
        <FormStatus form={submitting} shown={['topic', 'speaker', 'starts_at', 'ends_at', 'place', 'capacity', 'hours', 'fields.capacity']} />
        <SaveButton form={submitting} label={editing ? t('training.save') : t('training.create')} testid="save-training" />
      </form>
    </main>
  );
}
