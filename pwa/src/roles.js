// Roles as the server ranks them (sync/scopes.py); the server authorises every mutation,
// this only decides which buttons and tabs to show.
export const RANK = { volunteer: 0, staff: 1, manager: 2, district_manager: 3, admin: 4 };

export function atLeast(me, role) {
  return !!me && (RANK[me.role] ?? -1) >= RANK[role];
}
