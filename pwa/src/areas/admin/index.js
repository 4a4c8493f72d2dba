// The administration console (#/admin/...): one area, registered from src/areas/index.js.
import { ConsoleHome } from './home.jsx';
import { PlacesScreen } from './places.jsx';
import { PeopleScreen } from './people.jsx';
import { PersonScreen } from './person.jsx';
import { FundsAdmin } from './funds.jsx';
import { CampaignsAdmin } from './campaigns.jsx';
import { TimebankAdmin } from './timebank.jsx';
import { ExportsScreen } from './exports.jsx';
import { DevicesScreen } from './devices.jsx';
import { AuditScreen } from './audit.jsx';

import { OnlineScreen } from './online.jsx';
import { ErasureScreen } from './erasure.jsx';
import { ADMIN_OVERLAY, ADMIN_TYPES } from './overlay.js';
import { ADMIN_DESCRIBERS, ADMIN_STRINGS } from './strings.js';
import './admin.css';

export const ADMIN_AREA = {
  name: 'admin',
  types: ADMIN_TYPES,
  overlay: ADMIN_OVERLAY,
  describers: ADMIN_DESCRIBERS,
  strings: ADMIN_STRINGS,
  icons: { admin: 'M4 6h16M4 12h16M4 18h16M8 4v4M16 10v4M10 16v4' },
  routes: [
    { pattern: /^\/admin$/, screen: ConsoleHome, tab: 'admin', minRole: 'staff' },
    { pattern: /^\/admin\/places$/, screen: PlacesScreen, tab: 'admin', minRole: 'manager' },
    { pattern: /^\/admin\/people$/, screen: PeopleScreen, tab: 'admin', minRole: 'staff' },
    { pattern: /^\/admin\/people\/([^/]+)$/, screen: PersonScreen, tab: 'admin', minRole: 'staff' },
    { pattern: /^\/admin\/funds$/, screen: FundsAdmin, tab: 'admin', minRole: 'manager' },
    { pattern: /^\/admin\/campaigns$/, screen: CampaignsAdmin, tab: 'admin', minRole: 'district_manager' },
    { pattern: /^\/admin\/timebank$/, screen: TimebankAdmin, tab: 'admin', minRole: 'staff' },
    { pattern: /^\/admin\/exports$/, screen: ExportsScreen, tab: 'admin', minRole: 'manager' },
    { pattern: /^\/admin\/devices$/, screen: DevicesScreen, tab: 'admin', minRole: 'manager' },
    { pattern: /^\/admin\/audit$/, screen: AuditScreen, tab: 'admin', minRole: 'district_manager' },

    { pattern: /^\/admin\/online$/, screen: OnlineScreen, tab: 'admin', minRole: 'district_manager' },
    { pattern: /^\/admin\/erasure$/, screen: ErasureScreen, tab: 'admin', minRole: 'admin' },
  ],
  nav: [{ tab: 'admin', href: '#/admin', label: 'nav.admin', icon: 'admin', minRole: 'staff' }],
};
