// The dashboard has no synced records or mutations (its figures are online reads of the
// ledgers, server/dashboard.py); the empty pieces keep the areas' shape.
export const DASHBOARD_TYPES = [];
export const DASHBOARD_OVERLAY = {};
