// Conflicts and rejected or held submissions (#/review, managers), registered from
// src/areas/index.js.
import { Review, openConflicts } from './review.jsx';
import { REVIEW_OVERLAY, REVIEW_TYPES } from './overlay.js';
import { REVIEW_STRINGS } from './strings.js';

export const REVIEW_AREA = {
  name: 'review',
  types: REVIEW_TYPES,
  overlay: REVIEW_OVERLAY,
  describers: {},
  strings: REVIEW_STRINGS,
  icons: { review: 'M12 3v18M5 7h14M5 7l-3 7a3 3 0 0 0 6 0zM19 7l-3 7a3 3 0 0 0 6 0zM8 21h8' },
  routes: [
    { pattern: /^\/review$/, screen: Review, tab: 'review', minRole: 'manager' },
    // Where a notification's url leads (server/notify/kinds.py; tests/test_notify_routes.py).
    { pattern: /^\/review\/([^/]+)$/, screen: Review, tab: 'review', minRole: 'manager' },
  ],
  nav: [{ tab: 'review', href: '#/review', label: 'nav.review', icon: 'review', minRole: 'manager', badge: openConflicts }],
};
