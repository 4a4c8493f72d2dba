// Service projects (#/projects...): brand projects of a station and micro-venture projects
// of a round, with milestones, indicators, tranches, progress reports, feedback, supervision
// visits and the evaluation (docs/projects.md); registered from src/areas/index.js. No tab
// of its own (the bar is full): reached from the donations home and from notifications.
// The screens and their style sheet are a lazy chunk (lazy.jsx): none is in the first load.
import { PROJECTS_OVERLAY, PROJECTS_TYPES } from './overlay.js';
import { PROJECTS_DESCRIBERS, PROJECTS_STRINGS } from './strings.js';
import { lazy } from './lazy.jsx';

export const PROJECTS_AREA = {
  name: 'projects',
  types: PROJECTS_TYPES,
  overlay: PROJECTS_OVERLAY,
  describers: PROJECTS_DESCRIBERS,
  strings: PROJECTS_STRINGS,
  icons: {},
  routes: [
    { pattern: /^\/projects$/, screen: lazy('ProjectList'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/new$/, screen: lazy('ProjectCreate'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/report$/, screen: lazy('ReportForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/feedback$/, screen: lazy('FeedbackForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/visit$/, screen: lazy('VisitForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/milestones$/, screen: lazy('MilestonesForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/indicator$/, screen: lazy('IndicatorForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/tranche\/([^/]+)$/, screen: lazy('TrancheForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/grant$/, screen: lazy('GrantForm'), tab: 'donations', minRole: 'manager' },
    { pattern: /^\/projects\/([^/]+)\/evaluate$/, screen: lazy('EvaluateForm'), tab: 'donations', minRole: 'manager' },
    // A funded proposal's grant (from the round's results; the server makes the project).
    { pattern: /^\/proposals\/([^/]+)\/grant$/, screen: lazy('ProposalGrantForm'), tab: 'rounds', minRole: 'manager' },
    // Also where a notification's url leads (a visit's follow-up due, a tranche waiting).
    { pattern: /^\/projects\/([^/]+)$/, screen: lazy('ProjectDetail'), tab: 'donations', minRole: 'staff' },
  ],
  nav: [],
};
