// The anonymous enrolment routes (server/enrol.py): a code or short code for a token,
// a sign-up link's station, a volunteer's sign-up. Refusals come back as SyncError with the
// server's {code, message{zh,en}} (404 enrol_code_unknown, 410 enrol_code_expired, 409
// enrol_code_used, 410 enrol_code_revoked, 429 rate_limited with Retry-After).
import { request } from '../../sync/engine.js';

export function exchangeCode({ code, shortCode, deviceName, deviceId }) {
  return request('POST', '/api/v1/enrol', null, {
    ...(code ? { code } : { short_code: shortCode }), device_name: deviceName, device_id: deviceId,
  });
}

export function signupStation(code) {
  return request('GET', `/api/v1/public/signup/${encodeURIComponent(code)}`, null);
}

export function signUp({ code, name, phone, deviceName, deviceId }) {
  return request('POST', '/api/v1/signup', null, {
    code, name, phone, consent: true, device_name: deviceName, device_id: deviceId,
  });
}

export function signOutOnServer(token) {
  return request('POST', '/api/v1/me/sign-out', token);
}

/** A typed short code as the server wants it: letters and digits only, upper case
 *  (Crockford base32 reads O as 0 and I, L as 1). null when it cannot be one. */
export function normaliseShort(typed) {
  const clean = String(typed || '').toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{8}$/.test(clean) ? clean : null;
}

/** What a scanned QR code holds: an enrolment link (`…#/enrol?code=…` or `?token=…`), a
 *  sign-up link, or a short code. Returns {route, code|token|shortCode} or null. */
export function readScanned(text) {
  const raw = String(text || '').trim();
  const hash = raw.includes('#') ? raw.slice(raw.indexOf('#') + 1) : '';
  if (hash) {
    const [path, query = ''] = hash.split('?');
    const params = new URLSearchParams(query);
    if (path === '/enrol' && params.get('code')) return { route: 'enrol', code: params.get('code') };
    if (path === '/enrol' && params.get('token')) return { route: 'enrol', token: params.get('token') };
    if (path === '/signup' && params.get('code')) return { route: 'signup', code: params.get('code') };
    return null;
  }
  const short = normaliseShort(raw);
  return short ? { route: 'enrol', shortCode: short } : null;
}
