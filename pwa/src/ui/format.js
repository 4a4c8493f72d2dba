// Small display helpers shared by the screens.
import { getLang, t } from '../i18n.js';

/** A person as the screens name them: the name this phone holds (the signed-in person's
 *  own, a membership it may see, a volunteer profile), else the user id (all it may know of
 *  someone elsewhere). */
export function personName(view, userId, me = null) {
  if (!userId) return '';
  if (me?.user === userId && me.name && me.name !== me.user) return me.name;
  // a person added without a name carries their id as one: look further for a real name
  for (const row of view?.membership?.values() || []) if (row.user_id === userId && row.name && row.name !== userId) return row.name;
  const volunteer = view?.volunteer?.get(userId)
    || [...(view?.volunteer?.values() || [])].find((v) => v.user_id === userId);
  return volunteer?.name || userId;
}

export function timeOf(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date().toDateString() === d.toDateString();
  const pad = (n) => String(n).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return today ? hm : `${d.getMonth() + 1}/${d.getDate()} ${hm}`;
}

/** "2026-11-28 11:55" in the phone's time zone: a printed paper needs the whole date. */
export function dateTimeOf(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function dateLabel(date) {
  const [y, m, d] = String(date).split('-').map(Number);
  if (!y) return date;
  const day = new Date(y, m - 1, d);
  const week = getLang() === 'zh' ? '日一二三四五六'[day.getDay()] : ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][day.getDay()];
  return getLang() === 'zh' ? `${m}月${d}日 周${week}` : `${week} ${d}/${m}`;
}

/** Now by the server's clock as this phone last measured it (meta `clock_skew`, from each
 *  pull): a phone whose clock is a day off still knows which day it is at the event. */
export function serverNow(meta) {
  const skew = Number(meta?.clock_skew?.ms) || 0;
  return new Date(Date.now() + skew);
}

/** How far (ms) the phone's clock is from the server's when that is more than the server's
 *  `clock_warn_minutes` (client-config), else 0. */
export function clockOff(meta, warnMinutes) {
  const skew = Number(meta?.clock_skew?.ms) || 0;
  return Math.abs(skew) > warnMinutes * 60000 ? skew : 0;
}

export function todayIso(now = new Date()) {
  const d = now;
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** fen -> "1,234.50" (yuan, two decimals). */
export function yuan(fen) {
  const n = Number(fen) || 0;
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** Areas describe their own mutations: name -> (args, view, label) => text (each area's
 *  `describers`, added by src/areas/index.js). */
export const DESCRIBERS = {};

/** "Edit event 中华慈善日义卖: title" for the sync panel and the outbox list. */
export function describeMutation(name, args, view) {
  if (DESCRIBERS[name]) return DESCRIBERS[name](args, view, t(`mutation.${name}`));
  const label = t(`mutation.${name}`);
  const eventId = args?.id;
  const event = eventId && view?.event?.get(eventId);
  const title = event?.title || args?.title || args?.fields?.title || '';
  const fields = args?.fields ? Object.keys(args.fields).map((f) => t(`event.${f}`)).join('、') : '';
  return [label, title && `「${title}」`, fields && `(${fields})`].filter(Boolean).join(' ');
}
