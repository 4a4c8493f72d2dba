// Service projects (#/projects...): brand projects of a station and micro-venture projects
// of a round, with milestones, indicators, tranches, progress reports, feedback, supervision
// visits and the evaluation (docs/projects.md); registered from src/areas/index.js. No tab
// of its own (the bar is full): reached from the donations home and from notifications.
// The screens and their style sheet are a lazy chunk (src/ui/lazy.jsx): none is in the first load.
import { PROJECTS_OVERLAY, PROJECTS_TYPES } from './overlay.js';
import { PROJECTS_DESCRIBERS, PROJECTS_STRINGS } from './strings.js';
import { lazyChunk } from '../../ui/lazy.jsx';

const lazy = lazyChunk(() => import('./project-screens.js'), { title: 'sp.title', failed: 'sp.load_failed' });

export const PROJECTS_AREA = {
  name: 'projects',
  types: PROJECTS_TYPES,
  overlay: PROJECTS_OVERLAY,
  describers: PROJECTS_DESCRIBERS,
  strings: PROJECTS_STRINGS,
  icons: {},
  routes: [
    { pattern: /^\/projects$/, screen: lazy('ProjectList'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/from-proposal\/([^/]+)$/, screen: lazy('ProposalGrantForm'), tab: 'donations', minRole: 'manager' },
    { pattern: /^\/projects\/new$/, screen: lazy('ProjectCreate'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/report$/, screen: lazy('ReportForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/feedback$/, screen: lazy('FeedbackForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/visit$/, screen: lazy('VisitForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/milestones$/, screen: lazy('MilestonesForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/indicator$/, screen: lazy('IndicatorForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/tranche\/([^/]+)$/, screen: lazy('TrancheForm'), tab: 'donations', minRole: 'staff' },
    { pattern: /^\/projects\/([^/]+)\/grant$/, screen: lazy('GrantForm'), tab: 'donations', minRole: 'manager' },
    { pattern: /^\/projects\/([^/]+)\/evaluate$/, screen: lazy('EvaluateForm'), tab: 'donations', minRole: 'manager' },
    // Also where a notification's url leads (a visit's follow-up due, a tranche waiting).
    { pattern: /^\/projects\/([^/]+)$/, screen: lazy('ProjectDetail'), tab: 'donations', minRole: 'staff' },
  ],
  nav: [],
};
