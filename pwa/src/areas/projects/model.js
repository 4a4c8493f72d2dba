// What the project screens compute from the records (no JSX: Node tests load it): a
// project's milestones in order, its weighted progress (Decidim's: each milestone's progress
// times its weight, the weights summing to 100), indicators against their targets, the
// tranches of its grant, and who may do what (the server decides; this only picks buttons).
import { atLeast } from '../../roles.js';

export const BRAND_CATEGORIES = ['elderly', 'hardship', 'orphans', 'disability', 'governance'];
export const SCORE_KEYS = ['needs', 'performance', 'feedback', 'supervision'];
export const RATINGS = ['good', 'needs_improvement', 'serious'];

const byPosition = (a, b) => (a.position ?? 0) - (b.position ?? 0) || (a.id < b.id ? -1 : 1);

/** A project's milestones in their plan's order. */
export function milestonesOf(view, projectId) {
  return [...(view.milestone?.values() || [])].filter((m) => m.project_id === projectId).sort(byPosition);
}

/** Decidim's weighted progress (server service_projects.weighted_progress): each milestone's
 *  progress times its weight, over the weights, rounded down; no milestones: 0. */
export function weightedProgress(milestones) {
  let total = 0;
  let sum = 0;
  for (const m of milestones) {
    total += Number(m.weight) || 0;
    sum += (Number(m.weight) || 0) * (Number(m.progress) || 0);
  }
  return total ? Math.floor(sum / total) : 0;
}

export function grantOf(view, projectId) {
  return [...(view.grant?.values() || [])].find((g) => g.project_id === projectId) || null;
}

export function tranchesOf(view, projectId) {
  const milestones = view.milestone || new Map();
  const due = (tr) => milestones.get(tr.milestone_id)?.due || '';
  return [...(view.grant_tranche?.values() || [])].filter((tr) => tr.project_id === projectId)
    .sort((a, b) => due(a).localeCompare(due(b)) || (a.id < b.id ? -1 : 1));
}

const newestFirst = (field) => (a, b) => ((a[field] || '') < (b[field] || '') ? 1 : (a[field] || '') > (b[field] || '') ? -1 : 0);

export function reportsOf(view, projectId) {
  return [...(view.progress_report?.values() || [])].filter((r) => r.project_id === projectId).sort(newestFirst('at'));
}
export function feedbackOf(view, projectId) {
  return [...(view.project_feedback?.values() || [])].filter((f) => f.project_id === projectId).sort(newestFirst('taken_at'));
}
export function visitsOf(view, projectId) {
  return [...(view.supervision_visit?.values() || [])].filter((v) => v.project_id === projectId).sort(newestFirst('visited_at'));
}

/** Mean satisfaction score (one decimal), or null with no feedback. */
export function meanScore(feedback) {
  if (!feedback.length) return null;
  return Math.round((10 * feedback.reduce((s, f) => s + (Number(f.score) || 0), 0)) / feedback.length) / 10;
}

/** Each indicator with its actuals by period (oldest first) and the latest value. */
export function indicatorRows(view, project) {
  const actuals = [...(view.indicator_actual?.values() || [])].filter((a) => a.project_id === project.id);
  return (project.indicators || []).map((ind) => {
    const rows = actuals.filter((a) => a.indicator_key === ind.key).sort((a, b) => (a.period || '').localeCompare(b.period || ''));
    const latest = rows.length ? rows[rows.length - 1] : null;
    const target = Number(ind.target) || 0;
    const value = latest ? Number(latest.value) || 0 : null;
    return { ...ind, rows, latest, value, share: value === null || !target ? null : Math.round((100 * value) / target) };
  });
}

/** "2026-Q4" for a day. */
export function quarterOf(date = new Date()) {
  return `${date.getFullYear()}-Q${Math.floor(date.getMonth() / 3) + 1}`;
}

/** The federation's people for the fund (server funds.holds_fund): district managers of its
 *  district, or admin. They approve and pay disbursements. */
export function holdsProjectFund(me, fund) {
  if (!me || !fund) return false;
  if (me.role === 'admin') return true;
  return me.role === 'district_manager' && !!fund.district && me.district === fund.district;
}

/** Staff of the project's station, or the federation: they report, take feedback, visit. */
export function runsProject(me, project, fund) {
  if (!me || !project) return false;
  if (holdsProjectFund(me, fund)) return true;
  return atLeast(me, 'staff') && !!project.station && me.station === project.station;
}

/** Evaluators: the fund's managers (the federation), never whoever created the project. */
export function mayEvaluate(me, project, fund) {
  return holdsProjectFund(me, fund) && !!project && project.created_by !== me.user;
}

/** Funds that may support a brand project of `station` (server create_service_project): the
 *  station's own, or one of its district or the city with no station. */
export function fundsForStation(funds, station) {
  if (!station) return [];
  return funds.filter((f) => f.station === station.code || (!f.station && (!f.district || f.district === station.district)));
}

/** Stations a person may start a brand project at: their own (staff and up); the
 *  federation's people any station of their district (admin: every station). */
export function stationsForBrand(me, stations) {
  if (!me) return [];
  if (me.role === 'admin') return stations;
  if (me.role === 'district_manager') return stations.filter((s) => s.district === me.district);
  return atLeast(me, 'staff') ? stations.filter((s) => s.code === me.station) : [];
}

/** A tranche's state as shown: the disbursement's own status when it has one. */
export function trancheState(view, tranche) {
  const d = tranche.disbursement_id ? view.disbursement?.get(tranche.disbursement_id) : null;
  return d ? d.status : tranche.status;
}

/** A short key for a new indicator ("i1", "i2", ...) not yet used. */
export function nextKey(used, prefix = 'i') {
  let n = 1;
  while (used.includes(`${prefix}${n}`)) n++;
  return `${prefix}${n}`;
}

/** "12.5" -> 12.5; "" or junk -> null. */
export function parseNumber(text) {
  const s = String(text ?? '').trim();
  if (!/^-?\d+(\.\d+)?$/.test(s)) return null;
  return Number(s);
}

// ---- a micro-venture's grant from a funded proposal of a round -------------------------------

/** The round's result of a proposal (the ballots module keys it by the proposal's id; the
 *  contract's `<round id>:<proposal id>` is read too, as the server does). */
export function resultOf(view, proposal) {
  if (!proposal) return null;
  const results = view.round_result;
  const found = results?.get(`${proposal.round_id}:${proposal.id}`) || results?.get(proposal.id) || null;
  return found && found.round_id === proposal.round_id ? found : null;
}

/** The micro-venture project made from a proposal, if any (on this phone). */
export function projectOfProposal(view, proposalId) {
  return [...(view.service_project?.values() || [])].find((p) => p.proposal_id === proposalId) || null;
}

/** Funded proposals (records `proposal` with a `round_result` funded) of rounds whose fund
 *  `me` manages (server _fund_manager: holds_fund) and with no project yet: the grants to sign. */
export function grantsToSign(view, me) {
  const rows = [];
  for (const proposal of view.proposal?.values() || []) {
    const result = resultOf(view, proposal);
    if (!result?.funded || proposal.status !== 'funded') continue;
    const round = view.round?.get(proposal.round_id);
    const fund = round && view.fund?.get(round.fund_id);
    if (!holdsProjectFund(me, fund) || projectOfProposal(view, proposal.id)) continue;
    rows.push({ proposal, result, round, fund, group: view.community_group?.get(proposal.group_id) || null });
  }
  return rows.sort((a, b) => (a.round.title || '').localeCompare(b.round.title || '') || a.proposal.title.localeCompare(b.proposal.title));
}

/** Server service_projects.equal_weights: `count` whole weights summing to 100, the first
 *  ones taking the remainder. */
export function equalWeights(count) {
  if (count <= 0) return [];
  const base = Math.floor(100 / count);
  const extra = 100 - base * count;
  return Array.from({ length: count }, (_, i) => base + (i < extra ? 1 : 0));
}

/** SHA-1 of bytes (for uuid5 below: the overlay runs synchronously, WebCrypto does not). */
export function sha1(bytes) {
  const blocks = ((bytes.length + 8) >> 6) + 1;
  const m = new Uint32Array(blocks * 16);
  for (let i = 0; i < bytes.length; i++) m[i >> 2] |= bytes[i] << (24 - (i % 4) * 8);
  m[bytes.length >> 2] |= 0x80 << (24 - (bytes.length % 4) * 8);
  m[blocks * 16 - 1] = bytes.length * 8;
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Uint32Array(80);
  for (let blk = 0; blk < blocks; blk++) {
    for (let i = 0; i < 16; i++) w[i] = m[blk * 16 + i];
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let [a, b, c, d, e] = h;
    for (let i = 0; i < 80; i++) {
      let f; let k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
      else { f = b ^ c ^ d; k = 0xca62c1d6; }
      const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) >>> 0;
      e = d; d = c; c = ((b << 30) | (b >>> 2)) >>> 0; b = a; a = temp;
    }
    h[0] = (h[0] + a) >>> 0; h[1] = (h[1] + b) >>> 0; h[2] = (h[2] + c) >>> 0; h[3] = (h[3] + d) >>> 0; h[4] = (h[4] + e) >>> 0;
  }
  const out = new Uint8Array(20);
  h.forEach((v, i) => { out[4 * i] = v >>> 24; out[4 * i + 1] = (v >>> 16) & 255; out[4 * i + 2] = (v >>> 8) & 255; out[4 * i + 3] = v & 255; });
  return out;
}

/** RFC 4122 name-based (SHA-1) UUID, as Python's uuid.uuid5. */
export function uuid5(namespace, name) {
  const ns = namespace.replace(/-/g, '').match(/../g).map((x) => parseInt(x, 16));
  const hash = sha1(new Uint8Array([...ns, ...new TextEncoder().encode(name)]));
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = [...hash.slice(0, 16)].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Server service_projects.MILESTONE_NAMESPACE. */
const MILESTONE_NAMESPACE = '0b7f3c52-52c1-4d0e-9a57-8e2f4a1d6c30';

/** A micro-venture milestone's id, from its project and the proposal timeline's key (server
 *  service_projects.milestone_id). */
export function milestoneIdOf(projectId, key) {
  return uuid5(MILESTONE_NAMESPACE, `${projectId}:${key}`);
}
