// Helpers shared by the hours and Time Bank screens.
import { t } from '../../i18n.js';
import { todayIso } from '../../ui/format.js';

export { todayIso };
export { codeClaims, minutesBetween } from './overlay.js';
import { codeClaims } from './overlay.js';

/** Credit cents as credits: 250 -> "2.5". */
export function credits(cents) {
  const value = (cents ?? 0) / 100;
  return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/0$/, '');
}

export function duration(minutes) {
  const m = Math.max(0, minutes | 0);
  if (m % 60 === 0) return t('hours.whole', { h: m / 60 });
  if (m < 60) return t('hours.only_minutes', { m });
  return t('hours.minutes', { h: Math.floor(m / 60), m: m % 60 });
}

const DUPLICATE = /^与记录 \S+ 重复 \/ duplicate of log \S+$/;

/** A decision reason to show: the server's "duplicate of log <uuid>" in words. */
export function reasonText(reason) {
  if (!reason) return '';
  return DUPLICATE.test(reason) ? t('approve.superseded') : reason;
}

/** "HH:MM" of an ISO time, on the phone's clock. */
export function clock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "11/25 09:30–11:45" for a log. */
export function span(log) {
  const d = new Date(log.check_in_at);
  const day = `${d.getMonth() + 1}/${d.getDate()}`;
  return `${day} ${clock(log.check_in_at)}–${log.check_out_at ? clock(log.check_out_at) : '…'}`;
}

/** A local date and "HH:MM" as an ISO time with the phone's zone offset. */
export function localIso(date, hm) {
  return new Date(`${date}T${hm}:00`).toISOString();
}

/** Everyone this phone can name: own profile, the station's volunteers and cards. */
export function volunteerNames(view) {
  const names = new Map();
  for (const card of view.volunteer_card.values()) names.set(card.user_id, card.name);
  for (const v of view.volunteer.values()) names.set(v.user_id, v.name);
  return names;
}

export function activitiesOf(view, station) {
  return [...view.service_activity.values()]
    .filter((a) => !station || a.station === station)
    .sort((a, b) => (a.date === b.date ? a.title.localeCompare(b.title) : a.date < b.date ? 1 : -1));
}

export function activityLabel(activity, view) {
  if (!activity) return '';
  const event = activity.event_id && view?.event?.get(activity.event_id);
  return [activity.title, t(`service.${activity.service_type}`), event?.title, activity.date].filter(Boolean).join(' · ');
}

/** What a scanned QR code or a typed text names: `{ volunteer, code }`. Our signed code
 *  (the link `…?vc=CODE`, or the code itself) gives both; a plain id (typed, or an old
 *  `…?volunteer=ID` link) only the volunteer. */
export function volunteerFromCode(text) {
  const raw = String(text || '').trim();
  const linked = /[?&]vc=([A-Za-z0-9_.-]+)/.exec(raw);
  const code = linked ? linked[1] : raw;
  const claims = codeClaims(code);
  if (claims) return { volunteer: claims.user, code, expires: claims.expires };
  const legacy = /[?&]volunteer=([^&#\s]+)/.exec(raw);
  return { volunteer: legacy ? decodeURIComponent(legacy[1]) : raw, code: '' };
}

/** The link a volunteer's QR code carries: it opens the staff check-in with the signed
 *  code filled in. */
export function volunteerCodeUrl(origin, code) {
  return `${origin}/#/hours/staff?vc=${code}`;
}

export const SERVICE_TYPES = ['elder_care', 'hardship_relief', 'orphan_care', 'disability_support',
  'community_governance', 'event_support', 'training'];
