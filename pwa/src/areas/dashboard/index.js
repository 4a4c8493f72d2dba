// The dashboard (#/dashboard): money, goods, hours, volunteers, credits and funds of a place
// and period, each figure opening the ledger rows behind it, and the year's summary (PDF,
// Excel). Online reads for managers and up (server/dashboard.py). The screens and their
// style sheet are a lazy chunk: nothing of them is in the app's first load.
import { DASHBOARD_OVERLAY, DASHBOARD_TYPES } from './overlay.js';
import { DASHBOARD_STRINGS } from './strings.js';
import { lazyChunk } from '../../ui/lazy.jsx';

const lazy = lazyChunk(() => import('./dashboard.jsx'), { failed: 'dash.load_failed', loading: 'dash.loading' });

export const DASHBOARD_AREA = {
  name: 'dashboard',
  types: DASHBOARD_TYPES,
  overlay: DASHBOARD_OVERLAY,
  describers: {},
  strings: DASHBOARD_STRINGS,
  icons: {},
  // No tab of its own: the console's start links here (tab "admin" stays lit).
  routes: [
    { pattern: /^\/dashboard$/, screen: lazy('DashboardScreen'), tab: 'admin', minRole: 'manager' },
    { pattern: /^\/dashboard\/rows$/, screen: lazy('RowsScreen'), tab: 'admin', minRole: 'manager' },
  ],
  nav: [],
};
