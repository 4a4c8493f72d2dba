// Voting. The booth: a staff phone, offline at a street corner, takes ballots for residents
// in person (the booth and the ballot book once per session; then each resident's name and
// phone and the proposals they tick, with a running total against the round's budget: a
// ballot over the budget is refused here, before anything is queued). The resident's own
// phone, the managers' flagged duplicates, the paper tallies counted by hand, the results.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { getMeta, setMeta } from '../../sync/store.js';
import { useSubmit } from '../../ui/forms.js';
import { FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { todayIso, yuan } from '../../ui/format.js';
import { personName } from './groups.jsx';
import { PHONE_RE, ballotChoices, ballotSum, managesRound, phaseReached, priceOf, voterKeyLocal } from './model.js';
import { Missing, PhaseTag } from './rounds.jsx';

/** "11-28 15:22:07" on the phone's clock: which of two ballots came first is often seconds. */
function exactTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The ticks of a ballot, with the running total and what is left of the budget. */
function Choices({ app, round, ticked, onChange, testid = 'ballot-choices' }) {
  const choices = ballotChoices(app.view, round.id);
  const sum = ballotSum(app.view, round, ticked);
  return (
    <fieldset class="items choices" data-testid={testid}>
      <legend>{t('vote.pick')}</legend>
      {!choices.length && <p class="muted">{t('vote.no_choices')}</p>}
      {choices.map((p) => {
        const on = ticked.includes(p.id);
        const wouldOver = !on && sum.total + priceOf(p) > sum.budget;
        return (
          <label class={`check choice ${wouldOver ? 'too-much' : ''}`} key={p.id}>
            <input type="checkbox" checked={on} data-testid="ballot-choice" data-id={p.id}
              onChange={(e) => onChange(e.currentTarget.checked ? [...ticked, p.id] : ticked.filter((x) => x !== p.id))} />
            <span class="what"><span class="name">{p.title}</span><span class="price">¥{yuan(priceOf(p))}{wouldOver && ` · ${t('vote.would_exceed')}`}</span></span>
          </label>
        );
      })}
      <div class={`running ${sum.over ? 'over' : ''}`} data-testid="ballot-total" data-total={sum.total} data-over={sum.over ? '1' : '0'} aria-live="polite">
        <span>{t('vote.total')} <strong>¥{yuan(sum.total)}</strong></span>
        <span>{t('vote.budget')} ¥{yuan(sum.budget)}</span>
        <span class={sum.over ? 'bad' : 'ok'}>{sum.over ? t('vote.over_by', { amount: yuan(-sum.left) }) : t('vote.left', { amount: yuan(sum.left) })}</span>
      </div>
    </fieldset>
  );
}

const sessionKey = (roundId) => `booth:${roundId}`;

export function BoothScreen({ app, params }) {
  const [roundId] = params;
  const round = app.view.round?.get(roundId);
  const [session, setSession] = useState(undefined);
  const [setup, setSetup] = useState({ booth: '', book: '' });
  const [voter, setVoter] = useState({ name: '', phone: '' });
  const [ticked, setTicked] = useState([]);
  const [last, setLast] = useState(null);
  const form = useSubmit();
  useEffect(() => { getMeta(sessionKey(roundId)).then((s) => setSession(s || null), () => setSession(null)); }, [roundId]);
  if (!round) return <Missing />;
  const queued = app.outbox.filter((m) => m.name === 'ballot.booth' && m.args?.round_id === roundId);
  const start = async (e) => {
    e.preventDefault();
    if (!setup.booth.trim() || !setup.book.trim()) return;
    const s = { booth: setup.booth.trim(), book: setup.book.trim(), started_at: new Date().toISOString(), taken: 0 };
    await setMeta(sessionKey(roundId), s);
    setSession(s);
  };
  const end = async () => { await setMeta(sessionKey(roundId), null); setSession(null); setLast(null); };

  function cast(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      const name = voter.name.trim();
      const phone = voter.phone.trim();
      if (!name) return form.fail(t('form.required', { field: t('booth.name') }));
      if (!PHONE_RE.test(phone)) return form.fail(t('form.bad_phone'));
      if (!ticked.length) return form.fail(t('vote.pick_one'));
      const sum = ballotSum(app.view, round, ticked);
      if (sum.over) return form.fail(t('vote.over_refused', { total: yuan(sum.total), budget: yuan(sum.budget) }));
      const mine = voterKeyLocal(name, phone);
      if (queued.some((m) => voterKeyLocal(m.args.voter_name, m.args.voter_phone) === mine)) return form.fail(t('booth.already_here'));
      await act('ballot.booth', {
        id: intent.id, round_id: roundId, voter_name: name, voter_phone: phone, booth: session.booth,
        ballot_book_no: session.book, proposal_ids: ticked, cast_at: new Date().toISOString(),
      }, 1, { key: intent.key });
      const s = { ...session, taken: (session.taken || 0) + 1 };
      await setMeta(sessionKey(roundId), s);
      setSession(s);
      setLast({ n: s.taken, total: sum.total });
      setVoter({ name: '', phone: '' });
      setTicked([]);
      return true;
    });
  }
  return (
    <main class="screen form programme booth" data-testid="booth">
      <a class="back" href={`#/rounds/${roundId}`}>‹ {round.title}</a>
      <h1>{t('booth.title')}</h1>
      <p><PhaseTag phase={round.phase} /> {!app.online && <span class="tag waiting">{t('booth.offline_ok')}</span>}</p>
      {round.phase !== 'voting' && <p class="notice bad" data-testid="booth-closed">{t('vote.not_open')}</p>}
      {session === null && (
        <form onSubmit={start} data-testid="booth-setup">
          <p class="muted">{t('booth.setup_hint')}</p>
          <label>{t('booth.booth')}<input value={setup.booth} onInput={(e) => setSetup({ ...setup, booth: e.currentTarget.value })} maxLength={60} required placeholder={t('booth.booth_hint')} data-testid="booth-name" /></label>
          <label>{t('booth.book')}<input value={setup.book} onInput={(e) => setSetup({ ...setup, book: e.currentTarget.value })} maxLength={30} required data-testid="booth-book" /></label>
          <button type="submit" class="primary block" data-testid="booth-start">{t('booth.start')}</button>
        </form>
      )}
      {session && (
        <>
          <div class="session" data-testid="booth-session">
            <span>{t('booth.at', { booth: session.booth, book: session.book })}</span>
            <span data-testid="booth-taken">{t('booth.taken', { n: session.taken || 0 })}</span>
            {queued.length > 0 && <span class="tag pending" data-testid="booth-queued">{t('booth.queued', { n: queued.length })}</span>}
            <button type="button" class="small" onClick={end} data-testid="booth-end">{t('booth.end')}</button>
          </div>
          {last && <p class="ok" role="status" data-testid="booth-last">✓ {t('booth.recorded', { n: last.n, total: yuan(last.total) })}</p>}
          <form onSubmit={cast} data-testid="booth-form">
            <div class="row">
              <label>{t('booth.name')}<input value={voter.name} onInput={(e) => { setVoter({ ...voter, name: e.currentTarget.value }); form.clear(); }} maxLength={60} autoComplete="off" data-testid="voter-name" /></label>
              <label>{t('booth.phone')}<input type="tel" inputMode="tel" value={voter.phone} onInput={(e) => { setVoter({ ...voter, phone: e.currentTarget.value }); form.clear(); }} maxLength={20} autoComplete="off" data-testid="voter-phone" /></label>
            </div>
            <p class="muted small-note">{t('booth.privacy')}</p>
            <Choices app={app} round={round} ticked={ticked} onChange={(v) => { setTicked(v); form.clear(); }} />
            <FormStatus form={form} showSaved={false} />
            <div class="sticky-save"><SaveButton form={form} label={t('booth.cast')} testid="booth-cast" /></div>
          </form>
        </>
      )}
    </main>
  );
}

export function OwnVote({ app, params }) {
  const [roundId] = params;
  const round = app.view.round?.get(roundId);
  const me = app.meta.me;
  const [ticked, setTicked] = useState([]);
  const form = useSubmit();
  if (!round) return <Missing />;
  const mine = [...(app.view.ballot?.values() || [])].find((b) => b.round_id === roundId && b.voter_key === `user:${me?.user}`);
  const queued = app.outbox.find((m) => m.name === 'ballot.cast' && m.args?.round_id === roundId);
  function cast(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      if (!ticked.length) return form.fail(t('vote.pick_one'));
      const sum = ballotSum(app.view, round, ticked);
      if (sum.over) return form.fail(t('vote.over_refused', { total: yuan(sum.total), budget: yuan(sum.budget) }));
      if (!confirm(t('vote.confirm'))) return false;
      await act('ballot.cast', { id: intent.id, round_id: roundId, proposal_ids: ticked }, 1, { key: intent.key });
      return true;
    });
  }
  const shown = mine || (queued && { proposal_ids: queued.args.proposal_ids, pending: true });
  return (
    <main class="screen form programme" data-testid="own-vote">
      <a class="back" href={`#/rounds/${roundId}`}>‹ {round.title}</a>
      <h1>{t('vote.title')}</h1>
      <p><PhaseTag phase={round.phase} /></p>
      {shown ? (
        <div class="notice" data-testid="my-ballot">
          <p><strong>{t('vote.done')}</strong> {shown.pending && <span class="tag pending">{t('events.pending')}</span>}
            {mine?.status === 'duplicate' && <span class="tag void">{t('ballots.status.duplicate')}</span>}</p>
          <ul>{shown.proposal_ids.map((id) => <li key={id}>{app.view.proposal?.get(id)?.title || id}</li>)}</ul>
          <p class="muted small-note">{t('vote.one_only')}</p>
        </div>
      ) : round.phase !== 'voting' ? (
        <p class="notice bad">{t('vote.not_open')}</p>
      ) : (
        <form onSubmit={cast} data-testid="vote-form">
          <p class="muted">{t('vote.rule', { budget: yuan(round.budget_fen) })}</p>
          <Choices app={app} round={round} ticked={ticked} onChange={(v) => { setTicked(v); form.clear(); }} />
          <FormStatus form={form} showSaved={false} />
          <SaveButton form={form} label={t('vote.cast')} testid="vote-cast" />
        </form>
      )}
    </main>
  );
}

function BallotSide({ app, ballot, label, tone }) {
  return (
    <div class={`side ${tone}`}>
      <div class="label">{label}</div>
      <div class="value">{ballot.channel === 'booth' ? t('ballots.booth', { booth: ballot.booth || '—', book: ballot.ballot_book_no || '—' }) : t('ballots.own_phone')}</div>
      <div>{t('ballots.cast_at', { at: exactTime(ballot.cast_at) })}</div>
      <div class="muted">{t('ballots.received_at', { at: exactTime(ballot.received_at) })}</div>
      {ballot.taken_by && <div class="muted">{t('ballots.taken_by', { who: personName(app, ballot.taken_by) })}</div>}
      <div class="muted">{(ballot.proposal_ids || []).map((id) => app.view.proposal?.get(id)?.title || id).join('、')} · ¥{yuan(ballot.total_fen)}</div>
    </div>
  );
}

export function Ballots({ app, params }) {
  const [roundId] = params;
  const round = app.view.round?.get(roundId);
  if (!round) return <Missing />;
  const ballots = [...(app.view.ballot?.values() || [])].filter((b) => b.round_id === roundId);
  const flagged = ballots.filter((b) => b.status === 'duplicate').sort((a, b) => String(b.received_at).localeCompare(String(a.received_at)));
  const counted = ballots.filter((b) => b.status === 'counted');
  const by = (ch) => counted.filter((b) => b.channel === ch).length;
  const tallies = [...(app.view.paper_tally?.values() || [])].filter((x) => x.round_id === roundId);
  return (
    <main class="screen programme" data-testid="ballots">
      <a class="back" href={`#/rounds/${roundId}`}>‹ {round.title}</a>
      <h1>{t('ballots.title')}</h1>
      <ul class="plain sums" data-testid="ballot-counts">
        <li><span>{t('ballots.own_phone')}</span><span class="n">{by('own_phone')}</span></li>
        <li><span>{t('ballots.booths')}</span><span class="n">{by('booth')}</span></li>
        <li><span>{t('ballots.paper')}</span><span class="n">{tallies.reduce((s, x) => s + (x.ballots || 0), 0)}</span></li>
        <li class="total"><span>{t('ballots.flagged')}</span><span class="n" data-testid="flagged-count">{flagged.length}</span></li>
      </ul>
      <h2>{t('ballots.flagged_title')}</h2>
      <p class="muted small-note">{t('ballots.flagged_hint')}</p>
      {!flagged.length && <p class="muted" data-testid="flagged-none">{t('ballots.flagged_none')}</p>}
      {flagged.map((b) => {
        const first = b.duplicate_of && app.view.ballot?.get(b.duplicate_of);
        return (
          <article class="conflict flagged-ballot" key={b.id} data-testid="flagged-ballot" data-id={b.id}>
            <p><span class="tag waiting">{t('ballots.status.duplicate')}</span> {t('ballots.same_resident')}</p>
            <div class="sides">
              {first ? <BallotSide app={app} ballot={first} label={t('ballots.counts')} tone="kept" /> : <div class="side kept"><div class="label">{t('ballots.counts')}</div><div class="mono">{b.duplicate_of}</div></div>}
              <BallotSide app={app} ballot={b} label={t('ballots.not_counted')} tone="lost" />
            </div>
          </article>
        );
      })}
    </main>
  );
}

export function TallyForm({ app, params }) {
  const [roundId] = params;
  const round = app.view.round?.get(roundId);
  const [booth, setBooth] = useState('');
  const [count, setCount] = useState('');
  const [votes, setVotes] = useState({});
  const form = useSubmit();
  if (!round) return <Missing />;
  const choices = ballotChoices(app.view, roundId);
  const tallies = [...(app.view.paper_tally?.values() || [])].filter((x) => x.round_id === roundId);
  function save(e) {
    e.preventDefault();
    return form.run(async (intent) => {
      const ballots = Number(count);
      if (!booth.trim()) return form.fail(t('form.required', { field: t('booth.booth') }));
      if (!Number.isInteger(ballots) || ballots < 0) return form.fail(t('tally.bad_count'));
      const clean = Object.fromEntries(choices.map((p) => [p.id, Number(votes[p.id] || 0)]));
      if (Object.values(clean).some((v) => !Number.isInteger(v) || v < 0 || v > ballots)) return form.fail(t('tally.bad_votes'));
      await act('ballot.tally', { id: intent.id, round_id: roundId, booth: booth.trim(), ballots, votes: clean }, 1, { key: intent.key });
      setBooth(''); setCount(''); setVotes({});
      return true;
    });
  }
  return (
    <main class="screen form programme" data-testid="tally">
      <a class="back" href={`#/rounds/${roundId}`}>‹ {round.title}</a>
      <h1>{t('tally.title')}</h1>
      <p class="muted">{t('tally.hint')}</p>
      <form onSubmit={save} data-testid="tally-form">
        <label>{t('booth.booth')}<input value={booth} onInput={(e) => { setBooth(e.currentTarget.value); form.clear(); }} maxLength={60} data-testid="tally-booth" /></label>
        <label>{t('tally.ballots')}<input type="number" inputMode="numeric" min="0" value={count} onInput={(e) => { setCount(e.currentTarget.value); form.clear(); }} data-testid="tally-ballots" /></label>
        <fieldset class="items">
          <legend>{t('tally.votes')}</legend>
          {choices.map((p) => (
            <label class="mini tally-line" key={p.id}>{p.title}
              <input type="number" inputMode="numeric" min="0" value={votes[p.id] ?? ''} data-testid="tally-votes" data-id={p.id}
                onInput={(e) => { setVotes({ ...votes, [p.id]: e.currentTarget.value }); form.clear(); }} />
            </label>
          ))}
        </fieldset>
        <FormStatus form={form} />
        <SaveButton form={form} label={t('tally.save')} testid="tally-save" />
      </form>
      {tallies.length > 0 && (
        <>
          <h2>{t('tally.entered')}</h2>
          <ul class="plain sums">{tallies.map((x) => <li key={x.id}><span>{x.booth}</span><span class="n">{t('tally.n_ballots', { n: x.ballots })}</span></li>)}</ul>
        </>
      )}
    </main>
  );
}

export function Results({ app, params }) {
  const [roundId] = params;
  const round = app.view.round?.get(roundId);
  const me = app.meta.me;
  const [confirming, setConfirming] = useState(false);
  const form = useSubmit();
  if (!round) return <Missing />;
  const results = [...(app.view.round_result?.values() || [])].filter((r) => r.round_id === roundId).sort((a, b) => a.rank - b.rank);
  const published = phaseReached(round, 'results') && results.length > 0;
  // before the last voting day has passed, publishing closes the vote early (the manager confirms it)
  const early = todayIso() <= (round.phases?.voting?.ends || '');
  const funded = results.filter((r) => r.funded);
  const spent = funded.reduce((s, r) => s + (r.amount_fen || 0), 0);
  const sum = (k) => results.reduce((s, r) => s + (r[k] || 0), 0);
  // who took part, where the phone can count it (staff see tallies, managers the ballots)
  const ballots = [...(app.view.ballot?.values() || [])].filter((b) => b.round_id === roundId);
  const tallies = [...(app.view.paper_tally?.values() || [])].filter((x) => x.round_id === roundId);
  const counted = (ch) => ballots.filter((b) => b.channel === ch && b.status === 'counted').length;
  const flagged = ballots.filter((b) => b.status === 'duplicate').length;
  const publish = () => form.run(async (intent) => {
    await act('round.publish_results', { round_id: roundId, early }, 1, { key: intent.key });
    setConfirming(false);
    return true;
  });
  return (
    <main class="screen programme" data-testid="results">
      <a class="back" href={`#/rounds/${roundId}`}>‹ {round.title}</a>
      <h1>{t('results.title')}</h1>
      <p><PhaseTag phase={round.phase} /></p>
      {!published && <p class="muted" data-testid="results-none">{t('results.not_yet')}</p>}
      {round.phase === 'voting' && managesRound(me, round) && (
        <section>
          {!confirming && <button type="button" class="primary block" onClick={() => setConfirming(true)} data-testid="publish-results">{t('results.publish')}</button>}
          {confirming && (
            <div class="notice" role="alertdialog" aria-label={t('results.publish')}>
              <p>{t(early ? 'results.confirm_early' : 'results.confirm', { ends: round.phases?.voting?.ends })}</p>
              <div class="row">
                <button type="button" onClick={() => setConfirming(false)}>{t('programme.cancel')}</button>
                <button type="button" class="primary" onClick={publish} data-testid="publish-confirm">{t('results.publish_yes')}</button>
              </div>
            </div>
          )}
          <FormStatus form={form} />
        </section>
      )}
      {published && (
        <>
          <div class="totals" data-testid="results-budget">
            <div>{t('results.spent', { spent: yuan(spent), budget: yuan(round.budget_fen) })}</div>
            <div class="muted">{t('results.votes_by_channel', { own: sum('votes_own_phone'), booth: sum('votes_booth'), paper: sum('votes_paper') })}</div>
            {ballots.length > 0 && <div class="muted" data-testid="results-participation">{t('results.participation', { own: counted('own_phone'), booth: counted('booth'), paper: tallies.reduce((s, x) => s + (x.ballots || 0), 0) })}</div>}
            {flagged > 0 && <div class="muted">{t('results.flagged', { n: flagged })}</div>}
          </div>
          <ol class="plain results">
            {results.map((r) => {
              const p = app.view.proposal?.get(r.proposal_id);
              return (
                <li key={r.id} class={`result ${r.funded ? 'funded' : ''}`} data-testid="result-line" data-funded={r.funded ? '1' : '0'}>
                  <span class="rank">{r.rank}</span>
                  <span class="what">
                    <strong>{p?.title || r.proposal_id}</strong>
                    <span class="muted">{t('results.votes', { n: r.votes_total, own: r.votes_own_phone, booth: r.votes_booth, paper: r.votes_paper })}{p?.review_score != null && ` · ${t('review.score', { n: p.review_score })}`}</span>
                    {r.funded && <GrantLink app={app} round={round} proposalId={r.proposal_id} />}
                  </span>
                  <span class={`tag ${r.funded ? 'ok' : 'void'}`}>{r.funded ? `¥${yuan(r.amount_fen)}` : t('results.unfunded')}</span>
                </li>
              );
            })}
          </ol>
          <p class="muted small-note">{t('results.tie_rule')}</p>
          <p><a href={`/public/rounds/${roundId}`} target="_blank" rel="noopener">{t('round.public_page')}</a></p>
        </>
      )}
    </main>
  );
}

/** Under a funded proposal: its project once the grant made it, else (for the fund's
 *  managers) the way to sign the grant agreement (src/areas/projects: #/proposals/<id>/grant). */
function GrantLink({ app, round, proposalId }) {
  const project = [...(app.view.service_project?.values() || [])].find((x) => x.proposal_id === proposalId);
  if (project) return <a class="small-link" href={`#/projects/${project.id}`} data-testid="result-project">{t('results.open_project')}</a>;
  if (app.outbox.some((m) => m.name === 'grant.create' && m.args?.proposal_id === proposalId)) {
    return <span class="tag pending" data-testid="result-grant-queued">{t('results.grant_queued')}</span>;
  }
  const me = app.meta.me;
  if (!managesRound(me, round)) return null;
  return <a class="small-link" href={`#/proposals/${proposalId}/grant`} data-testid="sign-grant">{t('results.sign_grant')}</a>;
}
