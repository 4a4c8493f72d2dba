// Every screen of the round in one lazy chunk (src/ui/lazy.jsx loads it on first use).
import './programme.css';
export { GroupForm, GroupList } from './groups.jsx';
export { NeedForm, NeedList } from './needs.jsx';
export { ProposalDetail, ProposalEdit, ProposalForm, ProposalList } from './proposals.jsx';
export { MyReviews, Scorecard } from './review.jsx';
export { RoundDetail, RoundForm, RoundList } from './rounds.jsx';
export { Ballots, BoothScreen, OwnVote, Results, TallyForm } from './voting.jsx';
