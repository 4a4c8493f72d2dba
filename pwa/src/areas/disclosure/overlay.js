// The disclosure calendar keeps no records on the phone and queues no mutations: it reads
// the server (the calendar, a period's figures) and publishes through a route, online.
export const DISCLOSURE_TYPES = [];
export const DISCLOSURE_OVERLAY = {};
