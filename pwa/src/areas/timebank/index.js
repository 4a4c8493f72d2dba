// Volunteer hours and the Time Bank (#/hours..., #/timebank; everyone), registered from
// src/areas/index.js.
import { Approvals } from './approve.jsx';
import { TimeBank } from './bank.jsx';
import { HoursScreen } from './hours.jsx';
import { StaffCheckIn } from './staff.jsx';
import { TIMEBANK_OVERLAY, TIMEBANK_TYPES } from './overlay.js';
import { TIMEBANK_DESCRIBERS, TIMEBANK_STRINGS } from './strings.js';

export const TIMEBANK_AREA = {
  name: 'timebank',
  types: TIMEBANK_TYPES,
  overlay: TIMEBANK_OVERLAY,
  describers: TIMEBANK_DESCRIBERS,
  strings: TIMEBANK_STRINGS,
  icons: { hours: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 2' },
  routes: [
    { pattern: /^\/hours$/, screen: HoursScreen, tab: 'hours' },
    { pattern: /^\/hours\/staff$/, screen: StaffCheckIn, tab: 'hours', minRole: 'staff' },
    { pattern: /^\/hours\/review$/, screen: Approvals, tab: 'hours', minRole: 'staff' },
    { pattern: /^\/timebank$/, screen: TimeBank, tab: 'hours' },
  ],
  nav: [{ tab: 'hours', href: '#/hours', label: 'nav.hours', icon: 'hours' }],
};
