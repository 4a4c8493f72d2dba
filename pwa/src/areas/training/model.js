// Helpers the training screens share: what a training shows, the person's part in it,
// and their training record.
import { t } from '../../i18n.js';
import { activeSignup } from './overlay.js';

export const OCCASIONS = ['charity_day', 'social_work_week', '99_giving_day', 'other'];
export const AUDIENCES = ['all', 'volunteers', 'staff', 'residents'];

/** "2.5" / "2": training hours as people write them. */
export function hoursText(hours) {
  const value = Number(hours || 0);
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** "11/29 周六 14:00–16:00" on the phone's clock. */
export function whenText(training) {
  const start = new Date(training.starts_at);
  const end = new Date(training.ends_at);
  const hm = (d) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const day = `${start.getMonth() + 1}/${start.getDate()} ${t(`training.weekday.${start.getDay()}`)}`;
  const sameDay = start.toDateString() === end.toDateString();
  return `${day} ${hm(start)}–${sameDay ? '' : `${end.getMonth() + 1}/${end.getDate()} `}${hm(end)}`;
}

/** "11/29" on the phone's clock. */
export function dayText(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}/${d.getMonth() + 1}/${d.getDate()}`;
}

export function hasStarted(training, now = Date.now()) {
  return Date.parse(training.starts_at) <= now;
}

export function hasEnded(training, now = Date.now()) {
  return Date.parse(training.ends_at) <= now;
}

export function seatsLeft(training) {
  return Math.max(0, training.capacity - training.confirmed);
}

/** The trainings in two lists: upcoming (soonest first) and past (latest first). */
export function trainingLists(view, now = Date.now()) {
  const all = [...view.training.values()];
  const upcoming = all.filter((x) => !hasEnded(x, now)).sort((a, b) => (a.starts_at < b.starts_at ? -1 : 1));
  const past = all.filter((x) => hasEnded(x, now)).sort((a, b) => (a.starts_at < b.starts_at ? 1 : -1));
  return { upcoming, past };
}

export function mySignup(view, training, me) {
  return me?.user ? activeSignup(view, training.id, me.user) : null;
}

/** The person's training record: trainings attended, with their hours and the total. */
export function myRecord(view, me) {
  const rows = [...view.training_signup.values()]
    .filter((s) => s.user === me?.user && s.status === 'attended')
    .map((s) => ({ signup: s, training: view.training.get(s.training_id) }))
    .filter((r) => r.training)
    .sort((a, b) => (a.training.starts_at < b.training.starts_at ? 1 : -1));
  const total = rows.reduce((sum, r) => sum + Number(r.signup.hours || 0), 0);
  return { rows, total };
}

/** The tag of a person's part: [text, class]. */
export function statusTag(signup) {
  if (!signup) return null;
  if (signup.status === 'waitlisted') return [t('training.status.waitlisted_n', { n: signup.position ?? '?' }), 'waiting'];
  return [t(`training.status.${signup.status}`), signup.status === 'attended' ? 'ok' : 'ok'];
}

/** The link an entry QR code carries: the door screen of this training with the code. */
export function entryUrl(origin, trainingId, code) {
  return `${origin}/#/training/${trainingId}/door?vc=${code}`;
}
