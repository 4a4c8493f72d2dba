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
