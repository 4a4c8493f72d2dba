// Donations, receipts, funds and disbursements (#/donations, #/receipts, #/funds; staff and
// up), registered from src/areas/index.js.
import { DonationHome } from './home.jsx';
import { DonationForm } from './record.jsx';
import { DonationDetail } from './detail.jsx';
import { ReceiptScreen } from './receipt.jsx';
import { FundsScreen } from './funds.jsx';
import { DONATION_OVERLAY, DONATION_TYPES } from './overlay.js';
import { DONATION_DESCRIBERS, DONATION_STRINGS } from './strings.js';

export const DONATIONS_AREA = {
  name: 'donations',
  types: DONATION_TYPES,
  overlay: DONATION_OVERLAY,
  describers: DONATION_DESCRIBERS,
  strings: DONATION_STRINGS,
  icons: { donations: 'M12 20s-7-4.35-7-10a4 4 0 0 1 7-2.65A4 4 0 0 1 19 10c0 5.65-7 10-7 10zM9 11h6M12 8v6' },
  routes: [
    { pattern: /^\/donations$/, screen: DonationHome, tab: 'donations', minRole: 'staff' },
    { pattern: /^\/donations\/new\/(money|goods)$/, screen: DonationForm, tab: 'donations', minRole: 'staff' },
    { pattern: /^\/donations\/d\/([^/]+)$/, screen: DonationDetail, tab: 'donations', minRole: 'staff' },
    { pattern: /^\/receipts\/([^/]+)$/, screen: ReceiptScreen, tab: 'donations', minRole: 'staff' },
    { pattern: /^\/funds(?:\/.*)?$/, screen: FundsScreen, tab: 'donations', minRole: 'manager' },
    // Where a notification's url leads (server/notify/kinds.py; tests/test_notify_routes.py).
    { pattern: /^\/corrections\/([^/]+)$/, screen: FundsScreen, tab: 'donations', minRole: 'manager' },
  ],
  nav: [{ tab: 'donations', href: '#/donations', label: 'nav.donations', icon: 'donations', minRole: 'staff' }],
};
