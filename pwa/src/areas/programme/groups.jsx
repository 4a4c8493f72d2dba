// Community groups (社区社会组织): registering one (staff, or a resident for their own group)
// and its members (the people whose accounts may submit its proposals; a member never
// reviews the group's proposals).
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { atLeast } from '../../roles.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { Missing } from './rounds.jsx';
import { personName as nameOf } from '../../ui/format.js';

export function groupsOf(app) {
  return [...(app.view.community_group?.values() || [])].sort((a, b) => String(a.name).localeCompare(String(b.name), 'zh'));
}

/** People the phone knows (its memberships) as [user id, name], for picking members and reviewers. */
export function knownPeople(app) {
  const seen = new Map();
  for (const m of app.view.membership?.values() || []) if (m.user_id && !m.ended_at) seen.set(m.user_id, m.name || m.user_id);
  for (const v of app.view.volunteer?.values() || []) if (v.user_id || v.id) seen.set(v.user_id || v.id, v.name || v.user_id || v.id);
  const me = app.meta.me;
  if (me?.user && !seen.has(me.user)) seen.set(me.user, me.name || me.user);
  return [...seen].sort((a, b) => String(a[1]).localeCompare(String(b[1]), 'zh'));
}

/** The name this phone knows for ``user`` (``ui/format.js`` personName). */
export function personName(app, user) {
  return nameOf(app.view, user, app.meta.me);
}

export function GroupList({ app }) {
  const me = app.meta.me;
  const groups = groupsOf(app);
  return (
    <main class="screen programme">
      <a class="back" href="#/rounds">‹ {t('rounds.title')}</a>
      <h1>{t('groups.title')}</h1>
      <p class="muted">{t('groups.intro')}</p>
      {atLeast(me, 'staff') && <a class="button primary block" href="#/groups/new" data-testid="new-group">+ {t('groups.register')}</a>}
      {!groups.length && <p class="muted">{t('groups.none')}</p>}
      <ul class="cards">
        {groups.map((g) => (
          <li key={g.id}>
            <a class="card" href={`#/groups/${g.id}`} data-testid="group-card" data-id={g.id}>
              <span class="date">{g.registration_no || t('groups.no_reg')}</span>
              <span class="title">{g.name}</span>
              <span class="tag-col">
                <span class="tag">{t('groups.members_n', { n: g.members?.length || 0 })}</span>
                {g.members?.includes(me?.user) && <span class="tag ok">{t('groups.mine')}</span>}
                {g.pending && <span class="tag pending">{t('events.pending')}</span>}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </main>
  );
}

function MemberPicker({ app, value, onChange }) {
  const [adding, setAdding] = useState('');
  const people = knownPeople(app).filter(([id]) => !value.includes(id));
  const add = () => {
    const typed = adding.trim();
    // a name this phone knows (once) stands for its person's id; anything else is taken as
    // an id (someone the phone does not see; the server says if there is no such person)
    const everyone = knownPeople(app);
    const named = everyone.filter(([, name]) => name === typed);
    const v = everyone.some(([id]) => id === typed) || named.length !== 1 ? typed : named[0][0];
    if (v && !value.includes(v)) onChange([...value, v]);
    setAdding('');
  };
  return (
    <fieldset class="items">
      <legend>{t('groups.members')}</legend>
      <ul class="plain members">
        {value.map((user) => (
          <li key={user} class="row member">
            <span data-testid="group-member">{personName(app, user)}{personName(app, user) !== user && <span class="muted mono"> {user}</span>}</span>
            <button type="button" class="small" onClick={() => onChange(value.filter((u) => u !== user))} aria-label={t('groups.remove_member', { name: personName(app, user) })}>{t('groups.remove')}</button>
          </li>
        ))}
      </ul>
      <label>{t('groups.add_member')}
        <input list="programme-people" value={adding} onInput={(e) => setAdding(e.currentTarget.value)} data-testid="group-member-input"
          onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); add(); } }} placeholder={t('groups.member_hint')} />
      </label>
      <datalist id="programme-people">{people.map(([id, name]) => <option key={id} value={id}>{name}</option>)}</datalist>
      <button type="button" class="small add-member" onClick={add} data-testid="group-member-add">+ {t('groups.add')}</button>
    </fieldset>
  );
}

export function GroupForm({ app, params }) {
  const id = params?.[0];
  const me = app.meta.me;
  const existing = id ? app.view.community_group?.get(id) : null;
  const stations = [...(app.view.station?.values() || [])];
  const [form, setForm] = useState(() => ({
    name: existing?.name || '', registration_no: existing?.registration_no || '',
    station: existing?.station || me?.station || stations[0]?.code || '',
    members: existing?.members || [],
  }));
  const submitting = useSubmit();
  if (id && !existing) return <Missing what="group" back="#/groups" />;
  const staff = atLeast(me, 'staff');
  const set = (name) => (e) => { setForm({ ...form, [name]: e.currentTarget.value }); submitting.clear(); };
  function save(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      if (!existing) {
        if (!form.name.trim()) return submitting.fail(t('form.required', { field: t('groups.name') }));
        await act('group.register', { id: intent.id, name: form.name.trim(), station: form.station,
          registration_no: form.registration_no.trim(), members: form.members }, 1, { key: intent.key });
        go(`/groups/${intent.id}`, { replace: true });
        return true;
      }
      if (JSON.stringify(existing.members || []) === JSON.stringify(form.members)) return submitting.fail(t('programme.no_changes'));
      await act('group.set_members', { id, members: form.members }, 1, { key: intent.key });
      return true;
    });
  }
  return (
    <main class="screen form programme">
      <a class="back" href="#/groups">‹ {t('groups.title')}</a>
      <h1>{existing ? existing.name : t('groups.register')}</h1>
      <form onSubmit={save} data-testid="group-form">
        {existing ? (
          <dl>
            <dt>{t('groups.registration_no')}</dt><dd>{existing.registration_no || '—'}</dd>
            <dt>{t('groups.station')}</dt><dd>{app.view.station?.get(existing.station)?.name || existing.station}</dd>
          </dl>
        ) : (
          <>
            <label>{t('groups.name')}<input name="name" value={form.name} onInput={set('name')} maxLength={120} required data-testid="group-name" /></label>
            <FieldError fields={submitting.fields} path="name" />
            <label>{t('groups.registration_no')}<input name="registration_no" value={form.registration_no} onInput={set('registration_no')} maxLength={60} /></label>
            {!me?.station && stations.length > 0 && (
              <label>{t('groups.station')}
                <select value={form.station} onChange={set('station')}>{stations.map((s) => <option key={s.code} value={s.code}>{s.name}</option>)}</select>
              </label>
            )}
          </>
        )}
        {staff ? (
          <>
            <MemberPicker app={app} value={form.members} onChange={(members) => { setForm({ ...form, members }); submitting.clear(); }} />
            <FieldError fields={submitting.fields} path="members" />
            <FormStatus form={submitting} shown={['name', 'members']} />
            <SaveButton form={submitting} label={existing ? t('groups.save_members') : t('groups.register')} testid="save-group" />
          </>
        ) : (
          <>
            <h2>{t('groups.members')}</h2>
            <ul class="plain">{(existing?.members || []).map((u) => <li key={u} data-testid="group-member">{personName(app, u)}</li>)}</ul>
            <p class="muted small-note">{t('groups.staff_register')}</p>
          </>
        )}
      </form>
    </main>
  );
}
