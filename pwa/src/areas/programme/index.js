// The community micro-venture round (社区公益微创投; #/rounds..., #/groups, #/proposals,
// #/reviews), registered from src/areas/index.js. Server side: server/domain/rounds.py and
// ballots.py, docs/programme.md. The screens are one lazy chunk (src/ui/lazy.jsx), precached.
import { lazyChunk } from '../../ui/lazy.jsx';
import { PROGRAMME_OVERLAY, PROGRAMME_TYPES } from './overlay.js';
import { PROGRAMME_DESCRIBERS, PROGRAMME_STRINGS } from './strings.js';

const lazy = lazyChunk(() => import('./screens.js'), { title: 'rounds.title', failed: 'programme.load_failed' });

export const PROGRAMME_AREA = {
  name: 'programme',
  types: PROGRAMME_TYPES,
  overlay: PROGRAMME_OVERLAY,
  describers: PROGRAMME_DESCRIBERS,
  strings: PROGRAMME_STRINGS,
  icons: { rounds: 'M12 3l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.3 6.8 19.1l1-5.8L3.5 9.2l5.9-.9z' },
  routes: [
    { pattern: /^\/rounds$/, screen: lazy('RoundList'), tab: 'rounds' },
    { pattern: /^\/rounds\/new$/, screen: lazy('RoundForm'), tab: 'rounds', minRole: 'district_manager' },
    { pattern: /^\/rounds\/([^\/]+)\/edit$/, screen: lazy('RoundForm'), tab: 'rounds', minRole: 'district_manager' },
    { pattern: /^\/rounds\/([^\/]+)\/needs$/, screen: lazy('NeedList'), tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/needs\/new$/, screen: lazy('NeedForm'), tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/proposals$/, screen: lazy('ProposalList'), tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/proposals\/new$/, screen: lazy('ProposalForm'), tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/booth$/, screen: lazy('BoothScreen'), tab: 'rounds', minRole: 'staff' },
    { pattern: /^\/rounds\/([^\/]+)\/vote$/, screen: lazy('OwnVote'), tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/ballots$/, screen: lazy('Ballots'), tab: 'rounds', minRole: 'manager' },
    { pattern: /^\/rounds\/([^\/]+)\/tally$/, screen: lazy('TallyForm'), tab: 'rounds', minRole: 'staff' },
    { pattern: /^\/rounds\/([^\/]+)\/results$/, screen: lazy('Results'), tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)$/, screen: lazy('RoundDetail'), tab: 'rounds' },
    { pattern: /^\/proposals\/([^\/]+)\/edit$/, screen: lazy('ProposalEdit'), tab: 'rounds' },
    { pattern: /^\/proposals\/([^\/]+)$/, screen: lazy('ProposalDetail'), tab: 'rounds' },
    { pattern: /^\/groups$/, screen: lazy('GroupList'), tab: 'rounds' },
    { pattern: /^\/groups\/new$/, screen: lazy('GroupForm'), tab: 'rounds', minRole: 'staff' },
    { pattern: /^\/groups\/([^\/]+)$/, screen: lazy('GroupForm'), tab: 'rounds' },
    { pattern: /^\/reviews$/, screen: lazy('MyReviews'), tab: 'rounds' },
    { pattern: /^\/reviews\/([^\/]+)$/, screen: lazy('Scorecard'), tab: 'rounds' },
  ],
  nav: [{ tab: 'rounds', href: '#/rounds', label: 'nav.rounds', icon: 'rounds' }],
};
