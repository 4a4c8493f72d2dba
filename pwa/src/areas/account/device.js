// This phone's device id: a UUID made once and kept in a database of its own
// (`charity-device`), so neither a sign-out, a wipe nor re-enrolment clears it. The server
// binds receipt series to it, so gifts queued before a re-enrolment of the same person keep
// their receipt numbers (docs/pwa.md, "Enrolment, sign-up and the app lock").
import { openDB } from 'idb';

const DB = 'charity-device';
let opening = null;

function open() {
  if (!opening) opening = openDB(DB, 1, { upgrade(db) { db.createObjectStore('kv'); } });
  return opening;
}

/** The device id, made on first use. */
export async function deviceId() {
  const db = await open();
  const tx = db.transaction('kv', 'readwrite');
  let id = await tx.store.get('device_id');
  if (!id) { id = crypto.randomUUID(); await tx.store.put(id, 'device_id'); }
  await tx.done;
  return id;
}

/** The server may answer with another id (this one was bound to another person): keep it. */
export async function keepDeviceId(id) {
  if (id) await (await open()).put('kv', id, 'device_id');
}

/** A name for this phone the person may change: "王芳的手机" when we know whose it is,
 *  else what kind of phone it is, so a console's device list is readable. */
export function proposeName(personName, lang = 'zh') {
  if (personName) return lang === 'zh' ? `${personName}的手机` : `${personName}'s phone`;
  const ua = navigator.userAgent || '';
  const kind = /iPhone/.test(ua) ? 'iPhone' : /iPad/.test(ua) ? 'iPad'
    : /Android/.test(ua) ? (lang === 'zh' ? '安卓手机' : 'Android phone')
      : (lang === 'zh' ? '电脑' : 'Computer');
  const browser = /MicroMessenger/.test(ua) ? 'WeChat' : /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : '';
  return browser ? `${kind} · ${browser}` : kind;
}
