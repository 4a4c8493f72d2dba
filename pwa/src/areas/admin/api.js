// The console's online calls (enrolment codes, devices, exports, the sign-up poster):
// each sends the device token; a plain link could not, so files come back as blobs.
import { pick, t } from '../../i18n.js';
import { getMeta } from '../../sync/store.js';
import { send } from '../../sync/transport.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, body) {
  if (!navigator.onLine) throw new ApiError(0, 'offline', t('admin.needs_network'));
  const token = await getMeta('token');
  let response;
  try {
    response = await send(path, {
      method, cache: 'no-store',
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, 'offline', t('admin.needs_network'));
  }
  if (response.ok) return response;
  const answer = await response.json().catch(() => null);
  throw new ApiError(response.status, answer?.code || 'http', answer ? pick(answer.message) || answer.code : `HTTP ${response.status}`);
}

export async function getJson(path) {
  return (await request('GET', path)).json();
}

export async function postJson(path, body) {
  return (await request('POST', path, body)).json();
}

/** Fetch a file with the token and hand it to the browser as a download named `filename`. */
export async function download(path, filename) {
  const blob = await (await request('GET', path)).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return blob;
}

/** Send a file as the request body (a platform statement); the answer as JSON. */
export async function postFile(path, file) {
  if (!navigator.onLine) throw new ApiError(0, 'offline', t('admin.needs_network'));
  const token = await getMeta('token');
  let response;
  try {
    response = await send(path, {
      method: 'POST', cache: 'no-store',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
      body: file,
    });
  } catch {
    throw new ApiError(0, 'offline', t('admin.needs_network'));
  }
  const answer = await response.json().catch(() => null);
  if (response.ok) return answer;
  throw new ApiError(response.status, answer?.code || 'http', answer ? pick(answer.message) || answer.code : `HTTP ${response.status}`);
}
