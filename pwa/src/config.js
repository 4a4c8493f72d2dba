// Server settings the phone needs (GET /api/v1/client-config, docs/protocol.md "Client
// configuration"), cached in IndexedDB (meta `client_config`) so they hold offline; the
// server's defaults stand in before the first fetch.
import { getMeta, setMeta } from './sync/store.js';
import { send } from './sync/transport.js';

export const CONFIG_DEFAULTS = {
  /** A correction changing an amount by more than this waits for a second manager. */
  correction_approval_threshold_fen: 50000,
  /** A money gift at or above this asks the recorder to confirm the amount. */
  large_donation_fen: 500000,
  /** A fund whose available balance falls below this alerts its managers (unless set). */
  fund_low_fen: 100000,
  hours_max_session_hours: 24,
  /** Who holds donated money (募用分离), printed on receipts. */
  receipt_holder: { zh: '市慈善总会', en: 'City Charity Federation' },
  /** The phone's clock this far (minutes) from the server's warns on the sync bar. */
  clock_warn_minutes: 5,
  /** Goods valued above this need a photo of the goods (the server rejects them without). */
  goods_photo_line_fen: 200000,
  /** A disbursement above this is paid only once its invoice photo reached the server. */
  disbursement_invoice_line_fen: 100000,
  /** The largest file the server takes (a PDF; photos are made small on the phone). */
  file_max_bytes: 10 * 1024 * 1024,
};

/** One setting from the cached copy in `meta` (the snapshot's meta), or its default. */
export function configValue(meta, name) {
  const value = meta?.client_config?.[name];
  return value ?? CONFIG_DEFAULTS[name];
}

let fetchedFor = null;
let inflight = null;

/** Fetch and cache the settings once per token and page (and again when back online).
 *  Returns true when the cache changed. A failure keeps the cached copy. */
export function fetchConfig(options = {}) {
  if (!inflight) inflight = fetchOnce(options).finally(() => { inflight = null; });
  return inflight;
}

async function fetchOnce({ force = false }) {
  const token = await getMeta('token');
  if (!token || (!force && fetchedFor === token)) return false;
  try {
    const response = await send('/api/v1/client-config', { cache: 'no-store', headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) return false;
    const body = await response.json();
    fetchedFor = token;
    const before = await getMeta('client_config');
    const next = { ...body, fetched_at: new Date().toISOString() };
    await setMeta('client_config', next);
    return JSON.stringify({ ...before, fetched_at: null }) !== JSON.stringify({ ...next, fetched_at: null });
  } catch {
    return false;
  }
}
