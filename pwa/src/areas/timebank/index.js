// Routes and the bottom tab of the volunteer, hours and Time Bank screens (spread into
// ROUTES and NAV in app.jsx ahead of the phase-2 place holders).
import { Approvals } from './approve.jsx';
import { TimeBank } from './bank.jsx';
import { HoursScreen } from './hours.jsx';
import { StaffCheckIn } from './staff.jsx';

export const TIMEBANK_ROUTES = [
  { pattern: /^\/hours$/, screen: HoursScreen, tab: 'hours' },
  { pattern: /^\/hours\/staff$/, screen: StaffCheckIn, tab: 'hours', minRole: 'staff' },
  { pattern: /^\/hours\/review$/, screen: Approvals, tab: 'hours', minRole: 'staff' },
  { pattern: /^\/timebank$/, screen: TimeBank, tab: 'hours' },
];

export const TIMEBANK_NAV = [{ tab: 'hours', href: '#/hours', label: 'nav.hours', icon: 'hours' }];
