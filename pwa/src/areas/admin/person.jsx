// One person: their memberships (add, end), and an enrolment code for a new phone: the
// QR code of the link, the short code to type, and how long it stays valid. A code needs
// the server to know the person, so a person still waiting in the outbox is synced first.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { act, refresh, runner, subscribe } from '../../state.js';
import { newId } from '../../sync/ids.js';
import { timeOf } from '../../ui/format.js';
import { RANK } from '../../roles.js';
import { postJson } from './api.js';
import { personFrom } from './overlay.js';
import { districtNames, grantable, rankAt } from './scope.js';
import { Console, Invalid, Pending, SaveForm, Status, savedText, useSaving } from './ui.jsx';

/** Outbox rows that must reach the server before it can make a code for this person. */
export function queuedFor(outbox, userId) {
  return outbox.filter((m) => (m.name === 'person.create' && m.args.id === userId)
    || (m.name === 'membership.add' && m.args.user_id === userId));
}

/** Sync now and wait until none of the person's mutations is left in the outbox. */
function syncedFor(userId, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    let stop = () => {};
    const timer = setTimeout(() => { stop(); reject(new Error(t('admin.code_sync_slow'))); }, timeoutMs);
    stop = subscribe((snap) => {
      if (queuedFor(snap.outbox, userId).length === 0) { clearTimeout(timer); stop(); resolve(); }
    });
    runner.kick({ force: true });
    refresh();
  });
}

function mayEnd(me, row) {
  if (row.user_id === me?.user) return false;
  const need = Math.max(RANK[row.role], RANK.manager);
  return rankAt(me, row.station, row.district) >= need;
}

export function PersonScreen({ app, params, query }) {
  const [userId] = params;
  const me = app.meta.me;
  const view = app.view;
  // Between the push that takes the person out of the outbox and the pull that brings the
  // server's record there is a moment with neither: keep showing what was there.
  const seen = useRef(null);
  const person = personFrom(view, userId) || (seen.current?.user_id === userId ? seen.current : null);
  seen.current = person;
  const rows = [...(view.membership?.values() || [])].filter((m) => m.user_id === userId)
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  if (!person) {
    return <Console app={app} section="people" title={t('admin.person')}><p class="notice">{t('admin.person_unknown')}</p></Console>;
  }
  const rejected = app.outcomes.find((o) => o.status === 'rejected' && o.name === 'person.create' && o.args?.id === userId);
  return (
    <Console app={app} section="people" title={person.name} back={{ href: '#/admin/people', label: t('admin.people') }}>
      {query.get('added') && !rejected && <p class="notice ok" role="status" data-testid="person-added">{savedText(person.name)}</p>}
      <div class="console-cols">
        <section>
          <dl>
            <dt>{t('admin.phone')}</dt><dd>{person.phone || '—'}</dd>
            <dt>{t('admin.languages')}</dt><dd>{languagesText(person.languages)}</dd>
            <dt>{t('admin.person_id')}</dt><dd class="mono">{userId}</dd>
          </dl>
          <h2>{t('admin.memberships')}</h2>
          <ul class="plain">
            {rows.map((row) => <MembershipRow key={row.id} app={app} row={row} />)}
          </ul>
          {userId !== me?.user && <AddMembership app={app} userId={userId} />}
        </section>
        <section>
          <EnrolCode app={app} userId={userId} name={person.name} />
        </section>
      </div>
    </Console>
  );
}

function placeOf(row, view) {
  const station = row.station && view?.station.get(row.station);
  return station ? `${station.name}(${station.code})` : row.station || row.district || t('admin.everywhere');
}

const LANGUAGES = { zh: '中文', en: 'English' };

function languagesText(list) {
  return String(list || 'zh').split(',').map((code) => LANGUAGES[code] || code).join('、');
}

function MembershipRow({ app, row }) {
  const saving = useSaving();
  const end = () => saving.run(async () => {
    if (!confirm(t('admin.end_confirm', { name: row.name, role: t(`role.${row.role}`), place: placeOf(row, app.view) }))) return '';
    await act('membership.end', { id: row.id });
    return savedText(t('admin.ended'));
  });
  return (
    <li class="item" data-testid="admin-membership" data-role={row.role} data-ended={row.ended_at ? '1' : '0'}>
      <div class="grow">
        <strong>{t(`role.${row.role}`)}</strong> · {placeOf(row, app.view)} <Pending record={row} />
        <div class="muted fine">{row.ended_at ? t('admin.ended_at', { time: timeOf(row.ended_at) }) : t('admin.since', { time: timeOf(row.created_at) })}</div>
        <Status saving={saving} id="membership" />
      </div>
      {!row.ended_at && mayEnd(app.meta.me, row) && (
        <button type="button" class="small danger" data-testid="end-membership" disabled={saving.busy} onClick={end}>{t('admin.end')}</button>
      )}
    </li>
  );
}

function AddMembership({ app, userId }) {
  const me = app.meta.me;
  const view = app.view;
  const choices = [];
  for (const s of [...view.station.values()].sort((a, b) => (a.code < b.code ? -1 : 1))) {
    for (const role of grantable(me, s.code, s.district)) choices.push({ value: `${role}|${s.code}|`, label: `${t(`role.${role}`)} · ${s.name}` });
  }
  for (const d of districtNames(view)) {
    for (const role of grantable(me, null, d)) choices.push({ value: `${role}||${d}`, label: `${t(`role.${role}`)} · ${d}` });
  }
  for (const role of grantable(me, null, null)) choices.push({ value: `${role}||`, label: t(`role.${role}`) });
  if (choices.length === 0) return null;
  async function add({ choice }) {
    const [role, station, district] = String(choice || '').split('|');
    if (!role) throw new Invalid(t('form.required', { field: t('admin.role') }));
    await act('membership.add', { id: newId(), user_id: userId, role, ...(station ? { station } : {}), ...(district ? { district } : {}) });
    return savedText(t(`role.${role}`));
  }
  return (
    <SaveForm id="membership-form" title={t('admin.add_membership')} submit={t('admin.add')} onSave={add} folded>
      <label>{t('admin.role_and_place')}
        <select name="choice">{choices.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}</select>
      </label>
    </SaveForm>
  );
}

function left(expiresAt, now) {
  return Math.max(0, Math.floor((Date.parse(expiresAt) - now) / 1000));
}

function EnrolCode({ app, userId, name }) {
  const saving = useSaving();
  const [code, setCode] = useState(null);
  const [svg, setSvg] = useState('');
  const [now, setNow] = useState(Date.now());
  const shown = useRef(null);
  useEffect(() => {
    // The whole code in view, clear of the bottom tabs, ready to be scanned.
    if (code) shown.current?.scrollIntoView({ block: 'center' });
  }, [code]);
  useEffect(() => {
    if (!code) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [code]);
  const queued = queuedFor(app.outbox, userId).length > 0;
  async function make() {
    await saving.run(async () => {
      if (!navigator.onLine) throw new Error(t('admin.code_offline'));
      if (queuedFor(app.outbox, userId).length) await syncedFor(userId);
      const made = await postJson('/api/v1/enrol/codes', { user_id: userId });
      const { renderSVG } = await import('uqr');
      setSvg(renderSVG(made.link, { border: 4 })); // the quiet zone the standard asks for
      setNow(Date.now());
      setCode(made);
      return '';
    });
  }
  const seconds = code?.expires_at ? left(code.expires_at, now) : null;
  const expired = seconds === 0;
  return (
    <div class="admin-form enrol-code" data-testid="enrol-code-panel">
      <h3>{t('admin.enrol_code')}</h3>
      <p class="muted fine">{t('admin.enrol_code_help', { name })}</p>
      {queued && !code && <p class="muted fine" data-testid="code-queued">{t('admin.code_queued')}</p>}
      {code && !expired && (
        <div class="code-shown" data-testid="enrol-code" data-link={code.link} ref={shown}>
          <div class="qr big-qr" data-testid="enrol-qr" dangerouslySetInnerHTML={{ __html: svg }} />
          <div class="short-code" data-testid="short-code">{code.short_code}</div>
          <p class="muted fine">{t('admin.short_code_help')}</p>
          <p class="countdown" data-testid="code-countdown">{t('admin.valid_for', { m: Math.floor(seconds / 60), s: String(seconds % 60).padStart(2, '0') })}</p>
        </div>
      )}
      {expired && <p class="notice" data-testid="code-expired">{t('admin.code_expired')}</p>}
      <button type="button" class={code && !expired ? 'block' : 'primary block'} data-testid="make-code" disabled={saving.busy} onClick={make}>
        {saving.busy ? (queued ? t('admin.code_syncing') : t('admin.saving')) : code ? t('admin.code_again') : t('admin.make_code')}
      </button>
      {code && !expired && <p class="muted fine">{t('admin.code_again_help')}</p>}
      <Status saving={saving} id="enrol-code" />
    </div>
  );
}
