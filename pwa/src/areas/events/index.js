// Stations and events (#/events...): the app's first area, registered from src/areas/index.js.
import { EventDetail, EventForm, EventList } from './events.jsx';
import { EVENTS_OVERLAY, EVENTS_TYPES } from './overlay.js';
import { EVENTS_STRINGS } from './strings.js';

export const EVENTS_AREA = {
  name: 'events',
  types: EVENTS_TYPES,
  overlay: EVENTS_OVERLAY,
  describers: {}, // the sync panel's default names these (src/ui/format.js describeMutation)
  strings: EVENTS_STRINGS,
  icons: { events: 'M7 3v3M17 3v3M4 8h16M5 5h14a1 1 0 0 1 1 1v13a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zM8 12h3v3H8z' },
  routes: [
    { pattern: /^\/(?:events)?$/, screen: EventList, tab: 'events' },
    { pattern: /^\/events\/new$/, screen: EventForm, tab: 'events', minRole: 'staff' },
    { pattern: /^\/events\/([^/]+)\/edit$/, screen: EventForm, tab: 'events', minRole: 'staff' },
    { pattern: /^\/events\/([^/]+)$/, screen: EventDetail, tab: 'events' },
  ],
  nav: [{ tab: 'events', href: '#/events', label: 'nav.events', icon: 'events' }],
};
