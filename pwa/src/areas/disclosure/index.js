// The disclosure calendar (#/admin/disclosure, managers): what each fund (or campaign) the
// manager answers for must disclose, by when; a period's figures previewed, then published
// (server/disclosures.py, docs/disclosure.md). Online only: the server freezes its ledger.
import { CalendarScreen, PeriodScreen } from './calendar.jsx';
import { DISCLOSURE_OVERLAY, DISCLOSURE_TYPES } from './overlay.js';
import { DISCLOSURE_STRINGS } from './strings.js';
import './disclosure.css';

export const DISCLOSURE_AREA = {
  name: 'disclosure',
  types: DISCLOSURE_TYPES,
  overlay: DISCLOSURE_OVERLAY,
  describers: {},
  strings: DISCLOSURE_STRINGS,
  icons: {},
  routes: [
    { pattern: /^\/admin\/disclosure$/, screen: CalendarScreen, tab: 'admin', minRole: 'manager' },
    // Where a reminder's url leads (server/notify/kinds.py; tests/test_notify_routes.py).
    { pattern: /^\/admin\/disclosure\/([a-z]+)\/([^/]+)\/([0-9]+)$/, screen: PeriodScreen, tab: 'admin', minRole: 'manager' },
  ],
  nav: [],
};
