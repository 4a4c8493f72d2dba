// People at a station (and its district's managers), newest first, from the membership
// records; new volunteer sign-ups on top. Add a person with a first membership in one
// mutation (person.create), and print the station's sign-up poster.
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { newId } from '../../sync/ids.js';
import { go } from '../../router.js';
import { timeOf } from '../../ui/format.js';
import { download } from './api.js';
import { grantable, rankAt } from './scope.js';
import { Console, Invalid, Pending, SaveForm, StationPicker, Status, required, savedText, useSaving, useStation } from './ui.jsx';

const PHONE = /^\+?[0-9][0-9-]{2,19}$/;
const NEW_DAYS = 7;

/** A sign-up: a volunteer membership nobody else made (the person made it on their phone). */
export function isSignup(row) {
  return row.role === 'volunteer' && (!row.created_by || row.created_by === row.user_id);
}

export function isNew(row, now = Date.now()) {
  return now - Date.parse(row.created_at) < NEW_DAYS * 86400000;
}

/** Memberships seen at a station: its own, and its district's managers; newest first. */
export function peopleAt(view, station) {
  const rows = [...(view.membership?.values() || [])].filter((m) => m.station === station.code
    || (m.role === 'district_manager' && m.district === station.district));
  return rows.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
}

export function checkPhone(phone) {
  const clean = String(phone || '').replace(/\s/g, '');
  if (clean && !PHONE.test(clean)) throw new Invalid(t('form.bad_phone'));
  return clean || null;
}

export function PeopleScreen({ app }) {
  const me = app.meta.me;
  const picked = useStation(app, 'staff');
  const station = picked.station;
  const rows = station ? peopleAt(app.view, station) : [];
  const active = rows.filter((r) => !r.ended_at);
  const ended = rows.filter((r) => r.ended_at);
  const signups = active.filter((r) => isSignup(r) && isNew(r));
  const roles = station ? grantable(me, station.code, station.district) : [];

  async function create({ name, phone, languages, role }) {
    const cleanName = required(name, t('admin.person_name'));
    const cleanPhone = checkPhone(phone);
    if (!roles.includes(role)) throw new Invalid(t('advice.forbidden'));
    const id = newId();
    await act('person.create', {
      id, name: cleanName, ...(cleanPhone ? { phone: cleanPhone } : {}), languages: languages || 'zh',
      membership: { id: newId(), role, station: station.code },
    });
    go(`/admin/people/${encodeURIComponent(id)}?added=1`);
    return savedText(cleanName);
  }
  return (
    <Console app={app} section="people">
      <StationPicker picked={picked} />
      {station && (
        <div class="console-cols">
          <section>
            {signups.length > 0 && (
              <div class="notice" data-testid="admin-signups">{t('admin.new_signups', { n: signups.length })}</div>
            )}
            <h2>{t('admin.people_here', { n: new Set(active.map((r) => r.user_id)).size })}</h2>
            {active.length === 0 && <p class="muted">{t(rankAt(me, station.code, station.district) >= 2 ? 'admin.no_people' : 'admin.no_people_staff')}</p>}
            <ul class="plain people">
              {active.map((r) => <PersonRow key={r.id} row={r} />)}
            </ul>
            {ended.length > 0 && (
              <details>
                <summary>{t('admin.ended_memberships', { n: ended.length })}</summary>
                <ul class="plain people">{ended.map((r) => <PersonRow key={r.id} row={r} />)}</ul>
              </details>
            )}
          </section>
          <section>
            {roles.length > 0 && (
              <SaveForm id="person-form" title={t('admin.new_person')} submit={t('admin.create_person')} onSave={create} folded>
                <label>{t('admin.person_name')}<input name="name" maxLength={64} autocomplete="off" /></label>
                <label>{t('admin.phone')}<input name="phone" type="tel" inputmode="tel" maxLength={20} /></label>
                <label>{t('admin.role')}
                  <select name="role">{roles.map((r) => <option key={r} value={r}>{t(`role.${r}`)}</option>)}</select>
                </label>
                <label>{t('admin.languages')}
                  <select name="languages">
                    <option value="zh">中文</option><option value="zh,en">中文 + English</option><option value="en">English</option>
                  </select>
                </label>
                <p class="muted fine">{t('admin.person_help', { station: station.name })}</p>
              </SaveForm>
            )}
            <Poster station={station} />
          </section>
        </div>
      )}
    </Console>
  );
}

function PersonRow({ row }) {
  return (
    <li>
      <a class="item person" href={`#/admin/people/${encodeURIComponent(row.user_id)}`} data-testid="admin-person" data-user={row.user_id}>
        <div class="grow">
          <strong>{row.name}</strong>{' '}
          <span class="tag">{t(`role.${row.role}`)}</span>
          {isSignup(row) && isNew(row) && !row.ended_at && <span class="tag ok">{t('admin.signup_tag')}</span>}
          <Pending record={row} />
          <div class="muted fine">{row.ended_at ? t('admin.ended_at', { time: timeOf(row.ended_at) }) : t('admin.since', { time: timeOf(row.created_at) })}{row.phone && ` · ${row.phone}`}</div>
        </div>
        <span class="muted">›</span>
      </a>
    </li>
  );
}

function Poster({ station }) {
  const saving = useSaving();
  return (
    <div class="admin-form">
      <h3>{t('admin.poster')}</h3>
      <p class="muted fine">{t('admin.poster_help')}</p>
      <button type="button" class="block" data-testid="admin-poster" disabled={saving.busy}
        onClick={() => saving.run(async () => {
          await download(`/api/v1/stations/${encodeURIComponent(station.code)}/signup-poster.pdf`, `signup-poster-${station.code}.pdf`);
          return t('admin.downloaded');
        })}>{saving.busy ? t('admin.downloading') : t('admin.poster_download')}</button>
      <Status saving={saving} id="poster" />
    </div>
  );
}
