// A manager's notification settings: which kinds, which stations, push on or off, quiet
// hours (notification_prefs.set, merged field by field like any edit), and the alert lines
// (large donation per station, low-water mark per fund).
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { configValue } from '../../config.js';
import { FieldError, SaveButton } from '../../ui/formparts.jsx';
import { baseFor } from '../../sync/local.js';
import { KINDS } from './strings.js';
import { PushSettings } from './push_settings.jsx';

const DEFAULTS = { muted_kinds: [], stations: null, quiet_start: null, quiet_end: null, push_enabled: true, field_hlc: {} };

const sameList = (a, b) => JSON.stringify(a ? [...a].sort() : a) === JSON.stringify(b ? [...b].sort() : b);

export function Prefs({ app }) {
  const me = app.meta.me;
  if (!atLeast(me, 'manager')) return <main class="screen"><p>{t('prefs.managers_only')}</p></main>;
  const prefs = { ...DEFAULTS, ...app.view.notification_prefs.get(me.user) };
  return (
    <main class="screen prefs">
      <a class="back" href="#/inbox">‹ {t('inbox.title')}</a>
      <h1>{t('prefs.title')}</h1>
      <PushSettings app={app} />
      <PrefsForm app={app} prefs={prefs} />
      <Lines app={app} />
    </main>
  );
}

/** Stations this manager may set lines for (the server checks again). */
function managedStations(app, me) {
  const all = [...app.view.station.values()];
  if (me.role === 'admin') return all;
  if (me.role === 'district_manager') return all.filter((s) => s.district === me.district);
  return all.filter((s) => s.code === me.station);
}

function PrefsForm({ app, prefs }) {
  const me = app.meta.me;
  const [form, setForm] = useState(() => ({
    muted: new Set(prefs.muted_kinds), stations: prefs.stations ? new Set(prefs.stations) : null,
    quiet_start: prefs.quiet_start || '', quiet_end: prefs.quiet_end || '', push_enabled: prefs.push_enabled,
  }));
  const [message, setMessage] = useState(null);
  const stations = me.role === 'manager' ? [] : managedStations(app, me);
  const toggle = (set, value) => { const next = new Set(set); next.has(value) ? next.delete(value) : next.add(value); return next; };

  const submitting = useSubmit();
  function save(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      if (!form.quiet_start !== !form.quiet_end) { setMessage({ bad: true, text: t('prefs.quiet_both') }); return false; }
      const values = {
        muted_kinds: KINDS.filter((k) => form.muted.has(k)),
        stations: form.stations ? [...form.stations] : null,
        quiet_start: form.quiet_start || null, quiet_end: form.quiet_end || null,
        push_enabled: form.push_enabled,
      };
      const fields = Object.fromEntries(Object.entries(values).filter(([k, v]) => (Array.isArray(v) || v === null ? !sameList(v, prefs[k]) : v !== prefs[k])));
      if (!Object.keys(fields).length) { setMessage({ text: t('prefs.no_changes') }); return false; }
      setMessage(null);
      await act('notification_prefs.set', { fields, base: baseFor(prefs, fields) }, 1, { key: intent.key });
      setMessage({ text: t('prefs.saved') });
      return true;
    });
  }

  return (
    <form onSubmit={save} data-testid="prefs-form">
      <h2>{t('prefs.kinds')}</h2>
      <p class="muted small-print">{t('prefs.kinds_help')}</p>
      {KINDS.map((kind) => (
        <label class="check" key={kind}>
          <input type="checkbox" name={`kind-${kind}`} checked={!form.muted.has(kind)} onChange={() => setForm({ ...form, muted: toggle(form.muted, kind) })} />
          {t(`kind.${kind}`)}
        </label>
      ))}
      <label class="check">
        <input type="checkbox" name="push_enabled" checked={form.push_enabled} onChange={() => setForm({ ...form, push_enabled: !form.push_enabled })} />
        {t('prefs.push_enabled')}
      </label>
      {stations.length > 1 && (
        <>
          <h2>{t('prefs.stations')}</h2>
          <label class="check">
            <input type="checkbox" checked={!form.stations} onChange={() => setForm({ ...form, stations: form.stations ? null : new Set(stations.map((s) => s.code)) })} />
            {t('prefs.all_stations')}
          </label>
          {form.stations && stations.map((s) => (
            <label class="check" key={s.code}>
              <input type="checkbox" checked={form.stations.has(s.code)} onChange={() => setForm({ ...form, stations: toggle(form.stations, s.code) })} />
              {s.name} ({s.code})
            </label>
          ))}
        </>
      )}
      <h2>{t('prefs.quiet')}</h2>
      <p class="muted small-print">{t('prefs.quiet_help')}</p>
      <div class="row">
        <label>{t('prefs.quiet_from')}<input type="time" name="quiet_start" value={form.quiet_start} onInput={(e) => setForm({ ...form, quiet_start: e.currentTarget.value })} /></label>
        <label>{t('prefs.quiet_to')}<input type="time" name="quiet_end" value={form.quiet_end} onInput={(e) => setForm({ ...form, quiet_end: e.currentTarget.value })} /></label>
      </div>
      {(form.quiet_start || form.quiet_end) && (
        <button type="button" class="small" onClick={() => setForm({ ...form, quiet_start: '', quiet_end: '' })}>{t('prefs.quiet_clear')}</button>
      )}
      {message && <p class={message.bad ? 'bad' : 'ok'} role="status" data-testid="prefs-message">{message.text}</p>}
      {submitting.error && <p class="bad" role="alert" data-testid="form-error">{submitting.error}</p>}
      <SaveButton form={submitting} label={t('prefs.save')} testid="prefs-save" />
    </form>
  );
}

function yuanText(fen) {
  return fen == null ? '' : String(fen / 100);
}

function Lines({ app }) {
  const me = app.meta.me;
  const lines = app.view.alert_threshold;
  const stations = managedStations(app, me);
  const codes = new Set(stations.map((s) => s.code));
  const funds = [...(app.view.fund?.values() ?? [])].filter((f) => (f.station ? codes.has(f.station) : me.role === 'admin' || f.district === me.district));
  if (!stations.length && !funds.length) return null;
  // The server's defaults (client-config), so an empty line says what it falls back to.
  const fallback = (name) => t('prefs.default_amount', { amount: (configValue(app.meta, name) / 100).toLocaleString('en-US') });
  return (
    <section data-testid="prefs-lines">
      <h2>{t('prefs.lines')}</h2>
      <p class="muted small-print">{t('prefs.lines_help')}</p>
      {stations.map((s) => (
        <Line key={`d-${s.code}`} label={t('prefs.large_donation', { name: s.name })} testid={`line-donation-${s.code}`}
          current={lines.get(`large_donation:${s.code}`)} fallback={fallback('large_donation_fen')}
          save={(amount, key) => act('alert.set_donation_threshold', { station: s.code, amount_fen: amount }, 1, { key })} />
      ))}
      {funds.map((f) => (
        <Line key={`f-${f.id}`} label={t('prefs.fund_low', { name: f.name })} testid={`line-fund-${f.id}`}
          current={lines.get(`fund_low:${f.id}`)} fallback={fallback('fund_low_fen')}
          save={(amount, key) => act('alert.set_fund_low_water', { fund_id: f.id, station: f.station ?? null, ...(f.station ? {} : { district: f.district }), amount_fen: amount }, 1, { key })} />
      ))}
    </section>
  );
}

function Line({ label, current, save, testid, fallback }) {
  const [value, setValue] = useState(yuanText(current?.amount_fen));
  const [saved, setSaved] = useState(false);
  const form = useSubmit();
  function submit(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      const text = value.trim();
      if (text && !/^\d{1,11}(\.\d{1,2})?$/.test(text)) return form.fail(t('prefs.bad_amount'));
      await save(text ? Math.round(Number(text) * 100) : null, intent.key);
      setSaved(true);
      return true;
    });
  }
  return (
    <form class="line" onSubmit={submit} data-testid={testid}>
      <label>{label}
        <div class="inline">
          <input inputMode="decimal" value={value} placeholder={fallback || t('prefs.default')} onInput={(e) => { setValue(e.currentTarget.value); setSaved(false); }} />
          <SaveButton form={form} class="" label={t('prefs.set')} />
        </div>
      </label>
      {current?.pending ? <span class="tag pending">{t('events.pending')}</span> : saved && <span class="ok">{t('prefs.saved')}</span>}
      <FieldError fields={form.fields} path="amount_fen" />
      {form.error && <p class="bad" role="alert">{form.error}</p>}
    </form>
  );
}
