// The console's frame and form pieces: one layout (a menu beside the section on an office
// screen, a list of sections then one section at a time on a phone), the station picker,
// and forms that are disabled while saving, cleared after, and say what happened.
import { useRef, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { stationsFor } from './scope.js';

export const SECTIONS = [
  { key: 'places', minRole: 'manager' },
  { key: 'people', minRole: 'staff' },
  { key: 'funds', minRole: 'manager' },
  { key: 'campaigns', minRole: 'district_manager' },
  { key: 'timebank', minRole: 'staff' },
  { key: 'exports', minRole: 'manager' },
  { key: 'devices', minRole: 'manager' },
  { key: 'audit', minRole: 'district_manager' },

  { key: 'online', minRole: 'district_manager' },
  { key: 'erasure', minRole: 'admin' },
];

export function sectionsFor(me) {
  return SECTIONS.filter((s) => atLeast(me, s.minRole));
}

export function ConsoleMenu({ app, current }) {
  return (
    <nav class={`console-menu${current ? ' beside' : ''}`} aria-label={t('admin.title')}>
      {sectionsFor(app.meta.me).map((s) => (
        <a key={s.key} href={`#/admin/${s.key}`} class={current === s.key ? 'on' : ''} data-testid={`admin-link-${s.key}`}
          aria-current={current === s.key ? 'page' : undefined}>
          <strong>{t(`admin.${s.key}`)}</strong>
          <span class="muted fine">{t(`admin.${s.key}.hint`)}</span>
        </a>
      ))}
    </nav>
  );
}

/** A section of the console: the menu (office screens), one way back (phones: to the list
 *  of sections; a page inside a section, `back`: to that section, on every screen), the title. */
export function Console({ app, section, title, back, children }) {
  return (
    <main class="screen console" data-testid={`admin-${section}`}>
      <ConsoleMenu app={app} current={section} />
      <div class="console-body">
        {back ? <a class="back" href={back.href}>‹ {back.label}</a> : <a class="back console-back" href="#/admin">‹ {t('admin.title')}</a>}
        <h1>{title || t(`admin.${section}`)}</h1>
        {children}
      </div>
    </main>
  );
}

const STATION_KEY = 'charity.console.station';

/** The station a section works on: remembered on the phone, among those the person may use. */
export function useStation(app, minRole) {
  const options = stationsFor(app.meta.me, app.view.station, minRole);
  const [chosen, setChosen] = useState(() => localStorage.getItem(STATION_KEY) || app.meta.me?.station || '');
  const code = options.some((s) => s.code === chosen) ? chosen : (options[0]?.code || '');
  function choose(next) {
    localStorage.setItem(STATION_KEY, next);
    setChosen(next);
  }
  return { code, station: app.view.station.get(code), options, choose };
}

export function StationPicker({ picked }) {
  if (picked.options.length <= 1) {
    return picked.station ? <p class="muted" data-testid="admin-station">{t('admin.station_is', { name: picked.station.name, code: picked.code })}</p> : <p class="notice">{t('admin.no_station')}</p>;
  }
  return (
    <label class="compact">{t('event.station')}
      <select data-testid="admin-station-select" value={picked.code} onChange={(e) => picked.choose(e.currentTarget.value)}>
        {picked.options.map((s) => <option key={s.code} value={s.code}>{s.name} ({s.code})</option>)}
      </select>
    </label>
  );
}

/** One save at a time: a second tap while saving does nothing. */
export function useSaving() {
  const [state, set] = useState({ busy: false, message: '', tone: '' });
  const lock = useRef(false);
  async function run(fn) {
    if (lock.current) return;
    lock.current = true;
    set({ busy: true, message: '', tone: '' });
    try {
      const message = await fn();
      set({ busy: false, message: message || '', tone: 'ok' });
    } catch (err) {
      set({ busy: false, message: err.message || String(err), tone: 'bad' });
    } finally {
      lock.current = false;
    }
  }
  return { ...state, run, clear: () => set({ busy: false, message: '', tone: '' }) };
}

/** "已保存" and, offline, that it syncs later. */
export function savedText(what) {
  return [t('admin.saved', { what }), !navigator.onLine && t('admin.saved_offline')].filter(Boolean).join(' ');
}

export function Status({ saving, id }) {
  if (!saving.message) return null;
  return <p class={`notice ${saving.tone}`} role="status" data-testid={`${id}-status`} data-tone={saving.tone}>{saving.message}</p>;
}

export class Invalid extends Error {}

/** A form of one intent: its fields, one submit button; `onSave(values)` queues the
 *  mutation and returns the confirmation (throws Invalid with what to correct). */
export function SaveForm({ id, title, submit, onSave, children, folded = false }) {
  const saving = useSaving();
  const [open, setOpen] = useState(!folded);
  async function submitForm(e) {
    e.preventDefault();
    const form = e.currentTarget;
    const values = Object.fromEntries(new FormData(form));
    await saving.run(async () => {
      const message = await onSave(values);
      form.reset();
      if (folded) setOpen(false);
      return message;
    });
  }
  if (!open) {
    return (
      <div class="admin-form folded">
        <button type="button" class="block" data-testid={`${id}-open`} onClick={() => { saving.clear(); setOpen(true); }}>+ {title}</button>
        <Status saving={saving} id={id} />
      </div>
    );
  }
  return (
    <form class="admin-form" onSubmit={submitForm} data-testid={id}>
      {title && <h3>{title}</h3>}
      <fieldset disabled={saving.busy}>
        {children}
        <div class="row">
          {folded && <button type="button" onClick={() => setOpen(false)}>{t('event.cancel')}</button>}
          <button type="submit" class="primary" data-testid={`${id}-submit`}>{saving.busy ? t('admin.saving') : submit}</button>
        </div>
      </fieldset>
      <Status saving={saving} id={id} />
    </form>
  );
}

export function required(value, field) {
  const text = String(value ?? '').trim();
  if (!text) throw new Invalid(t('form.required', { field }));
  return text;
}

export function Pending({ record }) {
  return record?.pending ? <span class="tag pending">{t('events.pending')}</span> : null;
}
