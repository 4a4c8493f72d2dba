// Chinese first, English on a switch. t(key, params) looks up the current language;
// messages from the server come as {zh, en} and go through pick().
import { useEffect, useState } from 'preact/hooks';

const STRINGS = {
  'app.name': ['社区慈善', 'Community Charity'],
  'lang.switch': ['EN', '中文'],
  'nav.me': ['我的', 'Me'],
  'sync.online': ['在线', 'Online'],
  'sync.offline': ['离线', 'Offline'],
  'sync.syncing': ['同步中…', 'Syncing…'],
  'sync.progress': ['正在同步 {done} / {total} 条 ({pct}%)', 'Syncing {done} of {total} records ({pct}%)'],
  'sync.progress_open': ['正在同步,已收到 {done} 条', 'Syncing, {done} records so far'],
  'sync.pending': ['待同步 {n}', '{n} to sync'],
  'sync.all_sent': ['已全部同步', 'All synced'],
  'sync.last': ['上次同步 {time}', 'Last sync {time}'],
  'sync.never': ['尚未同步', 'Not synced yet'],
  'sync.rejected_count': ['{n} 项未被接受', '{n} not accepted'],
  'sync.flagged_count': ['{n} 项待复核', '{n} held for review'],
  'sync.retry_in': ['{s} 秒后重试', 'retrying in {s}s'],
  'sync.clock_behind': ['本机时间比服务器慢 {d},记录的时间会不准。请在手机设置中校准时间(自动设置时间)。',
    'This phone\'s clock is {d} behind the server\'s, so the times it records are wrong. Set the time in the phone\'s settings (set automatically).'],
  'sync.clock_ahead': ['本机时间比服务器快 {d},记录的时间会不准。请在手机设置中校准时间(自动设置时间)。',
    'This phone\'s clock is {d} ahead of the server\'s, so the times it records are wrong. Set the time in the phone\'s settings (set automatically).'],
  'clock.days': ['{n} 天', '{n} {n|day|days}'],
  'clock.hours': ['{n} 小时', '{n} {n|hour|hours}'],
  'clock.minutes': ['{n} 分钟', '{n} {n|minute|minutes}'],
  'sync.now': ['立即同步', 'Sync now'],
  'sync.stopped_auth': ['设备令牌无效或已停用,请重新登记本设备', 'The device token is invalid or revoked; enrol this phone again'],
  'sync.stopped_old': ['应用版本过旧,请刷新页面更新', 'This app version is too old; reload to update'],
  'sync.error': ['暂未同步:{msg}', 'Not synced yet: {msg}'],
  'sync.details': ['详情', 'Details'],
  'sync.hide': ['收起', 'Hide'],
  'sync.no_problems': ['没有需要处理的同步问题', 'No sync problems to deal with'],
  'sync.dismiss': ['知道了', 'Dismiss'],
  'sync.what_to_do': ['怎么办:', 'What to do:'],
  'sync.rejected': ['未被接受', 'Not accepted'],
  'sync.flagged': ['已保存,待复核', 'Saved, held for review'],
  'sync.pending_list': ['等待发送', 'Waiting to send'],
  'sync.enrol_again': ['重新登记', 'Enrol again'],
  'advice.invalid_args': ['检查填写的内容,改正后重新提交。', 'Check what was entered, correct it and submit again.'],
  'advice.forbidden': ['此操作需要其他权限,请联系站点管理者。', 'This needs another role; ask the station manager.'],
  'advice.not_found': ['该记录在服务器上不存在,可能已被删除;同步后再看。', 'The record does not exist on the server, it may have been deleted; look again after syncing.'],
  'advice.record_deleted': ['该记录已被删除,修改未保存。如仍需要,请新建一条。', 'The record was deleted, so the change was not saved. Create a new one if it is still needed.'],
  'advice.already_exists': ['已存在相同编号的记录,无需重复提交。', 'A record with this id already exists; nothing to resend.'],
  'advice.already_resolved': ['另一位管理者已处理,无需操作。', 'Another manager dealt with it; nothing to do.'],
  'advice.mutation_retired': ['请更新应用后重新操作。', 'Update the app and do it again.'],
  'advice.conflict_recorded': ['已按时间先后决定,管理者会在“审核”中复核。', 'Decided by time; a manager will review it under "Review".'],
  'advice.default': ['如有疑问,请联系站点管理者。', 'If in doubt, ask the station manager.'],
  'events.loading': ['正在载入数据…', 'Loading data…'],
  'event.back': ['返回', 'Back'],
  'me.title': ['我的', 'Me'],
  'me.user': ['用户', 'User'],
  'me.role': ['角色', 'Role'],
  'me.station': ['站点', 'Station'],
  'me.district': ['辖区', 'District'],
  'me.language': ['语言 / Language', 'Language / 语言'],
  'me.storage': ['本机存储', 'Storage on this phone'],
  'me.storage_persisted': ['已设为持久保存,系统不会自动清除', 'Persistent: the browser will not clear it'],
  'me.storage_best_effort': ['未获持久保存许可;请把应用添加到主屏幕', 'Not persistent yet; add the app to the home screen'],
  'me.device': ['设备编号', 'Device id'],
  'me.share': ['扫码在另一台手机打开本应用', 'Scan to open this app on another phone'],
  'me.show_qr': ['显示二维码', 'Show QR code'],
  'me.unenrol': ['退出登记', 'Sign this phone out'],
  'me.update': ['有新版本,点此更新', 'A new version is ready: tap to update'],
  'role.volunteer': ['志愿者', 'Volunteer'],
  'role.staff': ['社工', 'Staff'],
  'role.manager': ['站点管理者', 'Station manager'],
  'role.district_manager': ['辖区管理者', 'District manager'],
  'role.admin': ['系统管理员', 'Administrator'],
  // Used by several areas.
  'events.pending': ['待同步', 'Not sent yet'],
  'event.notes': ['备注', 'Notes'],
  'event.cancel': ['取消', 'Cancel'],
  'form.required': ['请填写{field}', 'Please fill in {field}'],
  'form.bad_phone': ['电话号码格式不对(5–20 位数字)', 'Phone number: 5 to 20 digits'],
  'notfound': ['找不到这个页面。', 'Page not found.'],
};

const KEY = 'charity.lang';
let lang = (typeof localStorage !== 'undefined' && localStorage.getItem(KEY)) || 'zh';
const listeners = new Set();

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = next;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  listeners.forEach((fn) => fn(next));
}

/** English plural forms in a text: `{n|credit|credits}` is "credit" when the parameter `n`
 *  is one (Intl.PluralRules: 1, not 1.5 nor "1.00", whose shown decimals make it plural),
 *  else "credits". Chinese texts need none. */
export function plural(text, params = {}) {
  return text.replace(/\{(\w+)\|([^|{}]*)\|([^|{}]*)\}/g, (whole, name, one, other) => {
    if (!(name in params)) return whole;
    const shown = String(params[name]);
    const decimals = (/\.(\d+)$/.exec(shown)?.[1] || '').length;
    const n = Number(shown.replace(/,/g, ''));
    if (!Number.isFinite(n)) return other;
    const rules = new Intl.PluralRules('en', { minimumFractionDigits: decimals });
    return rules.select(n) === 'one' ? one : other;
  });
}

export function t(key, params = {}) {
  const entry = STRINGS[key];
  let text = entry ? entry[lang === 'zh' ? 0 : 1] : key;
  if (text.includes('|')) text = plural(text, params);
  for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/** A text of the table in both languages, {zh, en} (for messages kept across a language switch). */
export function both(key) {
  const entry = STRINGS[key] || [key, key];
  return { zh: entry[0], en: entry[1] };
}

/** A server message {zh, en} in the current language. */
export function pick(message) {
  if (!message) return '';
  return (lang === 'zh' ? message.zh : message.en) || message.zh || message.en || '';
}

export function has(key) {
  return key in STRINGS;
}

/** Re-render on a language switch. */
export function useLang() {
  const [value, set] = useState(lang);
  useEffect(() => {
    listeners.add(set);
    return () => listeners.delete(set);
  }, []);
  return value;
}

/** Called on every language switch (the notifications module keeps a copy for the service worker). */
export function onLang(fn) {
  listeners.add(fn);
}

/** Screens of phase 2 keep their texts in their own files and add them here at load. */
export function addStrings(table) {
  Object.assign(STRINGS, table);
}
