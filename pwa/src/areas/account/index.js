// The account area: enrolment (link, QR scan, short code, recovery token), volunteer
// sign-up from a poster, the app lock and signing out. Registered in src/areas/index.js.
import { EnrolScreen } from './enrol.jsx';
import { SignupScreen } from './signup.jsx';
import { PinRoute } from './lock.jsx';
import { ACCOUNT_STRINGS } from './strings.js';
import { ACCOUNT_OVERLAY, ACCOUNT_TYPES } from './overlay.js';
import { startLifecycle } from './lifecycle.js';
import './account.css';

export { EnrolScreen } from './enrol.jsx';
export { LockScreen, PinSetup } from './lock.jsx';
export { pinAsked, useLocked } from './pin.js';
export { pinRequiredFor } from './policy.js';
export { AppLockSection, SignOutSection } from './me.jsx';

export const ACCOUNT_AREA = {
  name: 'account',
  types: ACCOUNT_TYPES,
  overlay: ACCOUNT_OVERLAY,
  describers: {},
  strings: ACCOUNT_STRINGS,
  icons: {},
  // `open`: shown whether or not the phone is enrolled (app.jsx).
  routes: [
    { pattern: /^\/enrol$/, screen: EnrolScreen, open: true },
    { pattern: /^\/signup$/, screen: SignupScreen, open: true },
    { pattern: /^\/me\/pin$/, screen: PinRoute, tab: 'me' },
  ],
  nav: [],
  start: startLifecycle,
};
