// At the door (#/training/<id>/door, staff): scan each person's entry code with the
// camera (or the phone's camera app opens the code's link here, or type it), or tap a
// name on the sign-up list. Each scan queues training.attend with this phone's clock and
// shows at once, offline; two door phones scanning the same person count once.
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { uuid7 } from '../../sync/ids.js';
import { Scanner } from '../account/scan.jsx';
import { volunteerFromCode } from '../timebank/common.js';
import { activeSignup } from './overlay.js';
import { statusTag } from './model.js';

export function DoorScreen({ app, params, query }) {
  const [id] = params;
  const view = app.view;
  const training = view.training.get(id);
  const [typed, setTyped] = useState('');
  const [scanning, setScanning] = useState(false);
  const [result, setResult] = useState(null);
  const linked = useRef(false);

  const nameOf = (user) => [...view.training_signup.values()].find((s) => s.user === user && s.training_id === id)?.name
    || view.volunteer?.get(user)?.name || user;

  async function record({ code = null, user = null }) {
    const who = user || volunteerFromCode(code).volunteer;
    if (!who) { setResult({ kind: 'bad', text: t('training.door_unreadable') }); return; }
    if (code && volunteerFromCode(code).expires <= Date.now()) { setResult({ kind: 'bad', text: t('training.door_expired', { name: nameOf(who) }) }); return; }
    const held = activeSignup(view, id, who);
    if (held?.status === 'attended') {
      setResult({ kind: 'again', text: t('training.door_again', { name: nameOf(who) }) });
      return;
    }
    try {
      await act('training.attend', { id: uuid7(), training_id: id, at: new Date().toISOString(), ...(code ? { code } : { user: who }) });
      setResult({ kind: 'ok', text: held ? t('training.door_ok', { name: nameOf(who) }) : t('training.door_walk_in', { name: nameOf(who) }) });
    } catch (err) {
      setResult({ kind: 'bad', text: String(err?.message || err) });
    }
  }

  function fromText(text) {
    const found = volunteerFromCode(text);
    if (found.code) return record({ code: found.code });
    setResult({ kind: 'bad', text: t('training.door_unreadable') });
    return undefined;
  }

  useEffect(() => {
    const vc = query?.get('vc');
    if (!vc || linked.current || !training) return;
    linked.current = true;
    fromText(`?vc=${vc}`);
  }, [training?.id]);

  if (!training) return <main class="screen training"><h1>{t('training.door')}</h1><p class="notice">{t('training.not_found')}</p></main>;
  const signups = [...view.training_signup.values()].filter((s) => s.training_id === id && s.status !== 'cancelled')
    .sort((a, b) => (a.status === 'attended') - (b.status === 'attended') || a.name.localeCompare(b.name));
  return (
    <main class="screen training door">
      <a class="back" href={`#/training/${id}`}>‹ {training.topic}</a>
      <h1>{t('training.door')}</h1>
      <div class="counts" data-testid="door-counts">
        <div><strong data-testid="door-attended">{training.attended}</strong>{t('training.count_attended')}</div>
        <div><strong>{training.confirmed}</strong>{t('training.count_seats', { of: training.capacity })}</div>
        <div><strong>{training.waitlisted}</strong>{t('training.count_waiting')}</div>
      </div>
      {result && <p class={`door-result ${result.kind}`} role="status" data-testid="door-result">{result.kind === 'ok' ? '✓ ' : ''}{result.text}</p>}
      {scanning
        ? <Scanner onText={(text) => { setScanning(false); fromText(text); }} onClose={() => setScanning(false)} />
        : <button type="button" class="primary block big" onClick={() => { setResult(null); setScanning(true); }} data-testid="door-scan">{t('training.door_scan')}</button>}
      <form class="row idrow" onSubmit={(e) => { e.preventDefault(); fromText(typed); setTyped(''); }}>
        <label class="grow">{t('training.door_type')}
          <input name="code" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autocapitalize="off" autocomplete="off" data-testid="door-code" />
        </label>
        <button type="submit" class="fit" data-testid="door-use-code">{t('training.door_record')}</button>
      </form>
      <h2>{t('training.people', { n: signups.length })}</h2>
      <ul class="plain people" data-testid="door-list">
        {signups.map((s) => (
          <li key={s.id} data-testid="door-line" data-user={s.user} data-status={s.status}>
            <span class="who"><strong>{s.name}</strong><span class={`fine ${s.status === 'attended' ? 'ok' : 'muted'}`}>{statusTag(s)[0]}</span></span>
            {s.status !== 'attended' && <button type="button" class="small" onClick={() => record({ user: s.user })} data-testid="door-tick">{t('training.door_tick')}</button>}
          </li>
        ))}
      </ul>
      <p class="muted fine">{t('training.door_offline')}</p>
    </main>
  );
}
