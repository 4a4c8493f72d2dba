// Erasure requests (PIPL): an admin finds a donor (by name or phone on their gifts) or a
// person (volunteer, staff: by name, phone or user id), checks what will be erased,
// picks why, and confirms. Names, phone numbers and free text go; money, goods and hours
// stay, and every fund's ledger still verifies. Online only (POST /api/v1/admin/erasure).
import { useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { getJson, postJson } from './api.js';
import { Console, Status, useSaving } from './ui.jsx';

export const ERASURE_REASONS = ['subject_request', 'guardian_request', 'retention_expired', 'other'];

export function ErasureScreen({ app }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  const [chosen, setChosen] = useState(null);
  const searching = useSaving();
  const search = (e) => {
    e.preventDefault();
    setChosen(null);
    searching.run(async () => {
      const answer = await getJson(`/api/v1/admin/erasure/search?q=${encodeURIComponent(q.trim())}`);
      setFound(answer);
      return answer.donors.length + answer.people.length + (answer.online_donors || []).length ? '' : t('erase.nothing_found');
    });
  };
  const done = () => { setChosen(null); setFound(null); setQ(''); };
  return (
    <Console app={app} section="erasure">
      <p class="muted">{t('erase.intro')}</p>
      <form class="erase-search" onSubmit={search} data-testid="erase-search">
        <label>{t('erase.search_label')}
          <input name="q" value={q} minLength={2} maxLength={64} required autocomplete="off"
            onInput={(e) => setQ(e.currentTarget.value)} data-testid="erase-q" />
        </label>
        <button type="submit" class="small" disabled={searching.busy}>{t('erase.search')}</button>
      </form>
      <Status saving={searching} id="erase-search" />
      {found && !chosen && <Candidates found={found} onPick={setChosen} />}
      {chosen && <Confirm subject={chosen} onCancel={() => setChosen(null)} onDone={done} />}
    </Console>
  );
}

function Candidates({ found, onPick }) {
  return (
    <div>
      {found.donors.length > 0 && <h2>{t('erase.donors')}</h2>}
      <ul class="plain">
        {found.donors.map((d, i) => (
          <li class="item" key={`d${i}`} data-testid="erase-candidate">
            <div class="grow">
              <strong>{d.name || d.organisation || t('erase.no_name')}</strong>{d.phone && ` · ${d.phone}`}
              <div class="muted fine">{t('erase.gifts', { n: d.donation_ids.length, stations: d.stations.join('、'), first: d.first, last: d.last })}</div>
            </div>
            <button type="button" class="small danger" onClick={() => onPick(d)}>{t('erase.choose')}</button>
          </li>
        ))}
      </ul>
      {(found.online_donors || []).length > 0 && <h2>{t('erase.online_donors')}</h2>}
      <ul class="plain">
        {(found.online_donors || []).map((d) => (
          <li class="item" key={`o${d.name}`} data-testid="erase-candidate">
            <div class="grow">
              <strong>{d.name}</strong>
              <div class="muted fine">{t('erase.online_orders', { n: d.orders, first: d.first, last: d.last })}</div>
            </div>
            <button type="button" class="small danger" onClick={() => onPick(d)}>{t('erase.choose')}</button>
          </li>
        ))}
      </ul>
      {found.people.length > 0 && <h2>{t('erase.people')}</h2>}
      <ul class="plain">
        {found.people.map((p) => (
          <li class="item" key={p.user_id} data-testid="erase-candidate">
            <div class="grow">
              <strong>{p.name}</strong>{p.phone && ` · ${p.phone}`}
              <div class="muted fine">{p.user_id}{p.roles.length > 0 && ` · ${p.roles.join('、')}`}</div>
            </div>
            <button type="button" class="small danger" onClick={() => onPick(p)}>{t('erase.choose')}</button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Confirm({ subject, onCancel, onDone }) {
  const [reason, setReason] = useState('subject_request');
  const [sure, setSure] = useState(false);
  const saving = useSaving();
  const donor = subject.subject === 'donor';
  const who = subject.name || subject.organisation || subject.user_id;
  const erase = () => saving.run(async () => {
    const body = subject.subject === 'online_donor'
      ? { subject: 'online_donor', reason, nickname: subject.name }
      : donor
        ? { subject: 'donor', reason, donation_ids: subject.donation_ids }
        : { subject: 'person', reason, user_id: subject.user_id };
    const answer = await postJson('/api/v1/admin/erasure', body);
    const n = Object.values(answer.changed).reduce((a, b) => a + b, 0);
    setTimeout(() => onDone(), 4000);
    return t('erase.done', { who, n });
  });
  return (
    <section class="erase-confirm" data-testid="erase-confirm">
      <h2>{t('erase.confirm_title', { who })}</h2>
      <p>{subject.subject === 'online_donor' ? t('erase.what_online', { n: subject.orders }) : t(donor ? 'erase.what_donor' : 'erase.what_person', { n: subject.donation_ids?.length || 0 })}</p>
      <p class="muted fine">{t('erase.what_stays')}</p>
      <label>{t('erase.reason')}
        <select value={reason} onChange={(e) => setReason(e.currentTarget.value)} data-testid="erase-reason">
          {ERASURE_REASONS.map((r) => <option key={r} value={r}>{t(`erase.reason.${r}`)}</option>)}
        </select>
      </label>
      <label class="erase-sure"><input type="checkbox" checked={sure} onChange={(e) => setSure(e.currentTarget.checked)} data-testid="erase-sure" /> {t('erase.sure')}</label>
      <button type="button" class="block danger" disabled={!sure || saving.busy || saving.tone === 'ok'} onClick={erase} data-testid="erase-go">{t('erase.go')}</button>
      <button type="button" class="block" onClick={onCancel} disabled={saving.busy}>{t('event.cancel')}</button>
      <Status saving={saving} id="erase" />
    </section>
  );
}
