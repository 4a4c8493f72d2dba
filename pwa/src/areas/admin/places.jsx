// Districts and stations: admins set up districts, district managers and admins open
// stations in them, a station's managers rename it and set whether its staff need a PIN. All of it through the outbox.
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { baseFor } from '../../sync/local.js';
import { districtNames, isAdmin, membershipsOf, rankAt } from './scope.js';
import { Console, Invalid, Pending, SaveForm, Status, required, savedText, useSaving } from './ui.jsx';

const STATION_CODE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export function PlacesScreen({ app }) {
  const me = app.meta.me;
  const view = app.view;
  const districts = districtNames(view);
  const admin = isAdmin(me);
  const mayOpenIn = admin ? districts : membershipsOf(me).filter((m) => m.role === 'district_manager').map((m) => m.district);
  const byDistrict = new Map(districts.map((d) => [d, []]));
  for (const s of view.station.values()) byDistrict.get(s.district)?.push(s);

  async function createDistrict({ name }) {
    const clean = required(name, t('admin.district'));
    if (districts.includes(clean)) throw new Invalid(t('admin.district_exists', { name: clean }));
    await act('district.create', { name: clean });
    return savedText(clean);
  }
  async function createStation({ code, name, district }) {
    const cleanCode = required(code, t('admin.station_code')).toUpperCase();
    if (!STATION_CODE.test(cleanCode)) throw new Invalid(t('admin.bad_station_code'));
    if (view.station.has(cleanCode)) throw new Invalid(t('admin.station_exists', { code: cleanCode }));
    const cleanName = required(name, t('admin.station_name'));
    await act('station.create', { code: cleanCode, name: cleanName, district: required(district, t('admin.district')) });
    return savedText(`${cleanName} (${cleanCode})`);
  }
  return (
    <Console app={app} section="places">
      <div class="console-cols">
        <section>
          <h2>{t('admin.districts', { n: districts.length })}</h2>
          {districts.length === 0 && <p class="muted">{t('admin.none')}</p>}
          {districts.map((d) => (
            <details key={d} class="place" open={districts.length <= 3} data-testid="admin-district">
              <summary><strong>{d}</strong> <span class="muted fine">{t('admin.station_count', { n: byDistrict.get(d).length })}</span> <Pending record={view.district?.get(d)} /></summary>
              <ul class="plain">
                {byDistrict.get(d).sort((a, b) => (a.code < b.code ? -1 : 1)).map((s) => <StationRow key={s.code} app={app} station={s} />)}
              </ul>
            </details>
          ))}
        </section>
        <section>
          {admin && (
            <SaveForm id="district-form" title={t('admin.new_district')} submit={t('admin.create')} onSave={createDistrict} folded>
              <label>{t('admin.district')}<input name="name" maxLength={100} placeholder="天河区" /></label>
            </SaveForm>
          )}
          {mayOpenIn.length > 0 && (
            <SaveForm id="station-form" title={t('admin.new_station')} submit={t('admin.create')} onSave={createStation} folded>
              <label>{t('admin.district')}
                <select name="district">{mayOpenIn.map((d) => <option key={d} value={d}>{d}</option>)}</select>
              </label>
              <label>{t('admin.station_code')}<input name="code" maxLength={32} placeholder="TH-001" autocapitalize="characters" /></label>
              <p class="muted fine">{t('admin.station_code_help')}</p>
              <label>{t('admin.station_name')}<input name="name" maxLength={100} placeholder="天河街道社工站" /></label>
            </SaveForm>
          )}
          {!admin && mayOpenIn.length === 0 && <p class="muted">{t('admin.places_readonly')}</p>}
        </section>
      </div>
    </Console>
  );
}

function StationRow({ app, station }) {
  const me = app.meta.me;
  const [editing, setEditing] = useState(false);
  const saving = useSaving();
  const mayEdit = rankAt(me, station.code, station.district) >= 2;
  const pinOn = station.pin_required !== false; // a record from before the setting: on
  async function save(e) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    await saving.run(async () => {
      const clean = required(form.get('name'), t('admin.station_name'));
      const fields = {};
      if (clean !== station.name) fields.name = clean;
      if (form.has('pin_required') !== pinOn) fields.pin_required = form.has('pin_required');
      if (!Object.keys(fields).length) throw new Invalid(t('event.no_changes'));
      await act('station.update', { code: station.code, fields, base: baseFor(station, fields) });
      setEditing(false);
      return savedText(clean);
    });
  }
  return (
    <li class="item" data-testid="admin-station-row" data-code={station.code}>
      {editing ? (
        <form class="grow" onSubmit={save} data-testid="admin-station-edit">
          <fieldset disabled={saving.busy}>
            <div class="row">
              <input name="name" defaultValue={station.name} maxLength={100} aria-label={t('admin.station_name')} />
            </div>
            <label class="check">
              <input type="checkbox" role="switch" name="pin_required" defaultChecked={pinOn} data-testid="admin-station-pin" />
              {t('admin.station_pin')}
            </label>
            <p class="muted fine">{t('admin.station_pin_help')}</p>
            <div class="row">
              <button type="submit" class="primary small">{t('event.save')}</button>
              <button type="button" class="small" onClick={() => setEditing(false)}>{t('event.cancel')}</button>
            </div>
          </fieldset>
        </form>
      ) : (
        <div class="grow">
          <strong>{station.name}</strong> <span class="muted mono">{station.code}</span> <Pending record={station} />
          {!pinOn && <span class="muted fine" data-testid="admin-station-no-pin"> · {t('admin.station_no_pin')}</span>}
          <Status saving={saving} id={`station-${station.code}`} />
        </div>
      )}
      {mayEdit && !editing && <button type="button" class="small" onClick={() => { saving.clear(); setEditing(true); }} data-testid="admin-station-edit-open">{t('admin.edit_station')}</button>}
    </li>
  );
}
