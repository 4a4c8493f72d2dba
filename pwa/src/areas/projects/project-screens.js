// Every screen of the area, in one lazy chunk (index.js loads it on first use).
export { ProjectList } from './list.jsx';
export { ProjectDetail } from './detail.jsx';
export { ProjectCreate } from './create.jsx';
export { EvaluateForm, FeedbackForm, GrantForm, IndicatorForm, MilestonesForm, ProposalGrantForm, ReportForm, TrancheForm, VisitForm } from './forms.jsx';
import './projects.css';
