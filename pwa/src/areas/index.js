// Every area of the app in one list. Each area is one folder exporting its record types,
// the local versions of its mutations (overlay), describers for the sync panel, strings,
// routes, navigation entries and tab icons; this file hands each piece to the part of the
// shell that uses it. The sync layer never imports an area: areas register with it.
import { addStrings } from '../i18n.js';
import { addIcons } from '../icons.jsx';
import { DESCRIBERS } from '../ui/format.js';
import { registerArea } from '../sync/local.js';
import { EVENTS_AREA } from './events/index.js';
import { DONATIONS_AREA } from './donations/index.js';
import { TIMEBANK_AREA } from './timebank/index.js';
import { REVIEW_AREA } from './review/index.js';
import { NOTIFY_AREA } from './notify/index.js';
import { ADMIN_AREA } from './admin/index.js';
import { DISCLOSURE_AREA } from './disclosure/index.js';
import { ACCOUNT_AREA } from './account/index.js';
import { DASHBOARD_AREA } from './dashboard/index.js';
import { PROGRAMME_AREA } from './programme/index.js';
import { PROJECTS_AREA } from './projects/index.js';

/** In the order of the bottom tabs (the account area has none). */
export const AREAS = [EVENTS_AREA, DONATIONS_AREA, TIMEBANK_AREA, REVIEW_AREA, NOTIFY_AREA, ADMIN_AREA, DISCLOSURE_AREA, ACCOUNT_AREA, DASHBOARD_AREA, PROGRAMME_AREA, PROJECTS_AREA];

for (const area of AREAS) {
  addStrings(area.strings || {});
  addIcons(area.icons || {});
  registerArea({ types: area.types, overlay: area.overlay });
  Object.assign(DESCRIBERS, area.describers || {});
}

/** Spread into ROUTES and NAV in app.jsx. */
export const AREA_ROUTES = AREAS.flatMap((area) => area.routes || []);
export const AREA_NAV = AREAS.flatMap((area) => area.nav || []);

/** Start what areas follow once the app runs (e.g. the account area's sign-out requests). */
export function startAreas() {
  for (const area of AREAS) area.start?.();
}
