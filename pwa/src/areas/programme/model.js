// The round's arithmetic, shared by the screens, the overlay and Node's tests: phases, the
// budget of a proposal, the weighted review score, the ballot's running total against the
// round's budget (CONSUL's "knapsack": the ticked proposals' adjusted prices must fit).

export const PHASES = ['needs', 'proposals', 'review', 'voting', 'results', 'implementation', 'closed'];
/** Phases with dates of their own (round.phases). */
export const DATED_PHASES = ['needs', 'proposals', 'review', 'voting'];
export const NEED_CATEGORIES = ['elderly', 'children', 'disability', 'hardship', 'environment', 'governance', 'culture', 'other'];

export function nextPhase(phase) {
  const i = PHASES.indexOf(phase);
  return i >= 0 && i < PHASES.length - 1 ? PHASES[i + 1] : null;
}

export function phaseReached(round, phase) {
  return PHASES.indexOf(round?.phase) >= PHASES.indexOf(phase);
}

/** One budget line's amount: quantity × unit cost, in fen (whole quantities only). */
export function lineTotal(line) {
  const q = Number(line?.quantity) || 0;
  const c = Number(line?.unit_cost_fen) || 0;
  return Math.round(q * c);
}

export function budgetTotal(lines) {
  return (lines || []).reduce((sum, line) => sum + lineTotal(line), 0);
}

/** "12.50" (yuan as typed) -> 1250 fen; NaN when it is not an amount. */
export function fenOf(text) {
  const s = String(text ?? '').trim().replace(/[,,\s]/g, '');
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return NaN;
  const [whole, part = ''] = s.split('.');
  return Number(whole) * 100 + Number(part.padEnd(2, '0'));
}

/** fen -> "12.5" as one would type it back into a field. */
export function yuanText(fen) {
  if (fen == null || Number.isNaN(fen)) return '';
  const whole = Math.floor(fen / 100);
  const part = fen % 100;
  return part ? `${whole}.${String(part).padStart(2, '0')}` : String(whole);
}

/** The scorecard's weighted score (0..100): Σ score/10 × weight over the criteria, each
 *  score 0..10, weights summing to 100; null until every criterion has a score. */
export function weightedScore(criteria, scores) {
  if (!criteria?.length) return null;
  let total = 0;
  for (const c of criteria) {
    const s = scores?.[c.key];
    if (s === undefined || s === null || s === '' || Number.isNaN(Number(s))) return null;
    total += (Number(s) / 10) * Number(c.weight);
  }
  return Math.round(total * 100) / 100;
}

/** The price a ballot counts for a proposal: its adjusted price (set at review). */
export function priceOf(proposal) {
  return proposal?.adjusted_price_fen ?? proposal?.budget_total_fen ?? 0;
}

/** The feasible proposals of a round, the ones a ballot may tick, by title. */
export function ballotChoices(view, roundId) {
  return [...(view.proposal?.values() || [])]
    .filter((p) => p.round_id === roundId && p.status === 'feasible')
    .sort((a, b) => String(a.title).localeCompare(String(b.title), 'zh'));
}

/** {total, budget, left, over} of a ballot ticking `ids` in `round`. */
export function ballotSum(view, round, ids) {
  const total = ids.reduce((sum, id) => sum + priceOf(view.proposal?.get(id)), 0);
  const budget = round?.budget_fen ?? 0;
  return { total, budget, left: budget - total, over: total > budget };
}

/** A resident's name and phone as the booth phone compares them (a second ballot from the
 *  same person on this phone, before it syncs): spaces gone, digits of the phone only. */
export function voterKeyLocal(name, phone) {
  return `${String(name || '').replace(/\s+/g, '').toLowerCase()}|${String(phone || '').replace(/\D+/g, '').replace(/^86(?=1\d{10}$)/, '')}`;
}

export const PHONE_RE = /^\+?[0-9 -]{5,20}$/;

/** Who may steer a round (advance it, assign reviewers, conclude, publish): the round's
 *  fund managers, those who approve its fund's disbursements: the district's managers and
 *  the city's (the server decides, funds.holds_fund). */
export function managesRound(me, round) {
  if (!me || !round) return false;
  if (me.role === 'admin') return true;
  return me.role === 'district_manager' && (!me.district || me.district === round.district);
}

/** Who sees the ballots (and the flagged second ones): managers of the round's station and up. */
export function seesBallots(me, round) {
  if (!me || !round) return false;
  if (managesRound(me, round)) return true;
  return me.role === 'manager' && (!me.station || me.station === round.station);
}

/** Staff of the round's station (they record needs and booth ballots). */
export function staffOfRound(me, round) {
  if (!me || !round) return false;
  if (me.role === 'admin' || me.role === 'district_manager') return managesRound(me, round);
  return (me.role === 'staff' || me.role === 'manager') && (!me.station || me.station === round.station);
}
