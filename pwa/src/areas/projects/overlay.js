// Local versions of the service-project mutations (server/domain/service_projects.py,
// docs/projects.md): what the server will write, shown at once and after a reload while the
// mutation waits in the outbox (a progress report, a beneficiary's feedback or a supervision
// visit taken where there is no signal), marked `pending`. The server's answer replaces them
// once pulled. No screens here: Node loads this file (scripts/area-records.mjs,
// tests/test_overlay_agreement.py checks each against the server).
import { weightedProgress } from './model.js';

function setProgress(view, projectId) {
  const project = view.service_project.get(projectId);
  if (!project) return;
  const milestones = [...view.milestone.values()].filter((m) => m.project_id === projectId);
  const progress = weightedProgress(milestones);
  if (progress !== project.progress) view.service_project.set(projectId, { ...project, progress, pending: true });
}

/** Where a project's records live (its station and district). */
const place = (project) => ({ station: project?.station ?? '', district: project?.district ?? '' });

export const PROJECTS_OVERLAY = {
  'service_project.create'(view, args, m, me) {
    const station = view.station?.get(args.station);
    const project = {
      id: args.id, fund_id: args.fund_id, station: args.station, district: station?.district ?? '',
      kind: 'brand', category: args.category, name: args.name, summary: args.summary ?? '',
      round_id: null, proposal_id: null, indicators: (args.indicators || []).map((i) => ({ ...i, target: Number(i.target) })),
      status: 'active', progress: 0, created_by: me?.user ?? '', created_at: m.created_at,
      attachments: args.attachments || [], pending: true,
    };
    view.service_project.set(args.id, project);
    if (view.project) {
      view.project.set(args.id, {
        id: args.id, fund_id: args.fund_id, name: args.name, description: args.summary ?? '',
        created_at: m.created_at, attachments: [], pending: true,
      });
    }
    (args.milestones || []).forEach((ms, position) => {
      view.milestone.set(ms.id, {
        id: ms.id, project_id: args.id, title: ms.title, weight: ms.weight, due: ms.due ?? null, progress: 0,
        position, ...place(project), updated_at: m.created_at, pending: true,
      });
    });
  },
  // The whole plan: existing milestones change, new ones start at 0.
  'milestone.set'(view, args, m) {
    const project = view.service_project.get(args.project_id);
    if (!project) return;
    args.milestones.forEach((plan, position) => {
      const old = view.milestone.get(plan.id);
      view.milestone.set(plan.id, old
        ? { ...old, title: plan.title, weight: plan.weight, due: plan.due ?? null, position, updated_at: m.created_at, pending: true }
        : { id: plan.id, project_id: args.project_id, title: plan.title, weight: plan.weight, due: plan.due ?? null, progress: 0,
          position, ...place(project), updated_at: m.created_at, pending: true });
    });
    setProgress(view, args.project_id);
  },
  'progress.report'(view, args, m, me) {
    const project = view.service_project.get(args.project_id);
    view.progress_report.set(args.id, {
      id: args.id, project_id: args.project_id, milestone_id: args.milestone_id, progress: args.progress,
      text: args.text ?? '', attachments: args.attachments || [], by: me?.user ?? '', at: m.created_at,
      ...place(project), pending: true,
    });
    const ms = view.milestone.get(args.milestone_id);
    if (ms) view.milestone.set(ms.id, { ...ms, progress: args.progress, updated_at: m.created_at, pending: true });
    setProgress(view, args.project_id);
  },
  'feedback.record'(view, args, m, me) {
    view.project_feedback.set(args.id, {
      id: args.id, project_id: args.project_id, score: args.score, comment: args.comment ?? '',
      taken_by: me?.user ?? '', taken_at: args.taken_on ?? m.created_at, ...place(view.service_project.get(args.project_id)), pending: true,
    });
  },
  'visit.record'(view, args, m, me) {
    view.supervision_visit.set(args.id, {
      id: args.id, project_id: args.project_id, visited_at: args.visited_on, findings: args.findings ?? '',
      rating: args.rating, follow_up: args.follow_up ?? '', follow_up_due: args.follow_up_due ?? null,
      follow_up_done_at: null, follow_up_note: '', attachments: args.attachments || [], by: me?.user ?? '',
      ...place(view.service_project.get(args.project_id)), pending: true,
    });
  },
  'visit.follow_up_done'(view, args, m) {
    const visit = view.supervision_visit.get(args.id);
    if (visit && !visit.follow_up_done_at) view.supervision_visit.set(args.id, { ...visit, follow_up_done_at: m.created_at, follow_up_note: args.note ?? '', pending: true });
  },
  'indicator.record'(view, args, m, me) {
    view.indicator_actual.set(args.id, {
      id: args.id, project_id: args.project_id, indicator_key: args.indicator_key, period: args.period,
      value: Number(args.value), by: me?.user ?? '', at: m.created_at, ...place(view.service_project.get(args.project_id)), pending: true,
    });
  },
  // A brand project's grant (a micro-venture's is made from its round's result: the server
  // makes the project too, which the phone cannot know before it answers).
  'grant.create'(view, args, m, me) {
    const project = view.service_project.get(args.project_id);
    if (args.proposal_id || !project) return;
    view.grant.set(args.id, {
      id: args.id, project_id: args.project_id, fund_id: project.fund_id, ...place(project),
      amount_fen: args.amount_fen, signed_at: args.signed_at, signed_by: me?.user ?? '', created_at: m.created_at, pending: true,
    });
    for (const plan of args.tranches || []) {
      view.grant_tranche.set(plan.id, {
        id: plan.id, grant_id: args.id, project_id: args.project_id, milestone_id: plan.milestone_id ?? null,
        amount_fen: plan.amount_fen, status: 'planned', disbursement_id: null, ...place(project), updated_at: m.created_at, pending: true,
      });
    }
  },
  'tranche.request'(view, args, m, me) {
    const tranche = view.grant_tranche.get(args.id);
    if (!tranche || !['planned', 'rejected'].includes(tranche.status)) return;
    view.grant_tranche.set(args.id, { ...tranche, status: 'requested', disbursement_id: args.disbursement_id, updated_at: m.created_at, pending: true });
    const project = view.service_project.get(tranche.project_id);
    const fund = project && view.fund?.get(project.fund_id);
    if (view.disbursement && project) {
      const kind = args.payee_kind ?? 'organisation';
      view.disbursement.set(args.disbursement_id, {
        id: args.disbursement_id, fund_id: project.fund_id, project_id: tranche.project_id, amount_fen: tranche.amount_fen,
        payee: args.payee, purpose: args.purpose || `${project.name} 分期拨付`, category: 'project', payee_kind: kind,
        payee_public: !!args.payee_public && kind === 'organisation', status: 'requested', requested_by: me?.user ?? '',
        requested_at: m.created_at, decided_by: null, decided_at: null, decision_note: '', paid_by: null, paid_at: null,
        reference: null, station: fund?.station ?? null, district: fund?.district ?? null, attachments: args.attachments || [], pending: true,
      });
    }
  },
};

/** Record types of this area (service_project is public; the rest go to the project's
 *  station and the fund's managers). */
export const PROJECTS_TYPES = ['service_project', 'grant', 'grant_tranche', 'milestone', 'progress_report',
  'project_feedback', 'supervision_visit', 'indicator_actual', 'evaluation'];
