// The community micro-venture round (社区公益微创投; #/rounds..., #/groups, #/proposals,
// #/reviews), registered from src/areas/index.js. Server side: server/domain/rounds.py and
// ballots.py, docs/programme.md.
import { GroupForm, GroupList } from './groups.jsx';
import { NeedForm, NeedList } from './needs.jsx';
import { PROGRAMME_OVERLAY, PROGRAMME_TYPES } from './overlay.js';
import { ProposalDetail, ProposalEdit, ProposalForm, ProposalList } from './proposals.jsx';
import { MyReviews, Scorecard } from './review.jsx';
import { RoundDetail, RoundForm, RoundList } from './rounds.jsx';
import { PROGRAMME_DESCRIBERS, PROGRAMME_STRINGS } from './strings.js';
import { Ballots, BoothScreen, OwnVote, Results, TallyForm } from './voting.jsx';
import './programme.css';

export const PROGRAMME_AREA = {
  name: 'programme',
  types: PROGRAMME_TYPES,
  overlay: PROGRAMME_OVERLAY,
  describers: PROGRAMME_DESCRIBERS,
  strings: PROGRAMME_STRINGS,
  icons: { rounds: 'M12 3l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.3 6.8 19.1l1-5.8L3.5 9.2l5.9-.9z' },
  routes: [
    { pattern: /^\/rounds$/, screen: RoundList, tab: 'rounds' },
    { pattern: /^\/rounds\/new$/, screen: RoundForm, tab: 'rounds', minRole: 'manager' },
    { pattern: /^\/rounds\/([^\/]+)\/edit$/, screen: RoundForm, tab: 'rounds', minRole: 'manager' },
    { pattern: /^\/rounds\/([^\/]+)\/needs$/, screen: NeedList, tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/needs\/new$/, screen: NeedForm, tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/proposals$/, screen: ProposalList, tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/proposals\/new$/, screen: ProposalForm, tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/booth$/, screen: BoothScreen, tab: 'rounds', minRole: 'staff' },
    { pattern: /^\/rounds\/([^\/]+)\/vote$/, screen: OwnVote, tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)\/ballots$/, screen: Ballots, tab: 'rounds', minRole: 'manager' },
    { pattern: /^\/rounds\/([^\/]+)\/tally$/, screen: TallyForm, tab: 'rounds', minRole: 'staff' },
    { pattern: /^\/rounds\/([^\/]+)\/results$/, screen: Results, tab: 'rounds' },
    { pattern: /^\/rounds\/([^\/]+)$/, screen: RoundDetail, tab: 'rounds' },
    { pattern: /^\/proposals\/([^\/]+)\/edit$/, screen: ProposalEdit, tab: 'rounds' },
    { pattern: /^\/proposals\/([^\/]+)$/, screen: ProposalDetail, tab: 'rounds' },
    { pattern: /^\/groups$/, screen: GroupList, tab: 'rounds' },
    { pattern: /^\/groups\/new$/, screen: GroupForm, tab: 'rounds' },
    { pattern: /^\/groups\/([^\/]+)$/, screen: GroupForm, tab: 'rounds' },
    { pattern: /^\/reviews$/, screen: MyReviews, tab: 'rounds' },
    { pattern: /^\/reviews\/([^\/]+)$/, screen: Scorecard, tab: 'rounds' },
  ],
  nav: [{ tab: 'rounds', href: '#/rounds', label: 'nav.rounds', icon: 'rounds' }],
};
