// The account area has no synced records or mutations of its own (enrolment and sign-out
// are online calls, not queued mutations); the empty pieces keep the areas' shape.
export const ACCOUNT_TYPES = [];
export const ACCOUNT_OVERLAY = {};
