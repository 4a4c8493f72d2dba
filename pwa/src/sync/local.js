// What the screens show: the replica with the pending outbox applied on top, so an edit
// made offline shows at once and after a reload. The server stays the authority: once a
// mutation is acknowledged it leaves the outbox and the replica holds the server's result.
// Which records and mutations exist is up to the areas (src/areas/index.js registers them).
const OVERLAY = {};

/** Every mutation with a local version (tests/test_overlay_agreement.py has a case for each). */
export function overlayNames() {
  return Object.keys(OVERLAY);
}

export const RECORD_TYPES = [];

/** An area (src/areas/) adds its record types and the local versions of its mutations
 *  here at start-up; the sync layer never imports an area. */
export function registerArea({ types = [], overlay = {} }) {
  for (const type of types) if (!RECORD_TYPES.includes(type)) RECORD_TYPES.push(type);
  Object.assign(OVERLAY, overlay);
}

/** replicaRows: [{type, id, data}]; outbox: rows in id order. Returns {type: Map(id -> data)},
 *  one Map for each registered record type at least. */
export function buildView(replicaRows, outbox, me) {
  return overlayView(baseView(replicaRows), outbox, me);
}

/** The replica alone as {type: Map}; state.js keeps it until a pull changes the replica. */
export function baseView(replicaRows) {
  const view = Object.fromEntries(RECORD_TYPES.map((t) => [t, new Map()]));
  for (const { type, id, data } of replicaRows) {
    if (!view[type]) view[type] = new Map();
    view[type].set(id, data);
  }
  return view;
}

/** `base` with the outbox on top; only the types the outbox touches are copied, so the
 *  others keep their Map (and screens can memoise on it). */
export function overlayView(base, outbox, me) {
  const view = { ...base };
  const copied = new Set();
  const writable = new Proxy(view, {
    get(target, type) {
      if (typeof type === 'string' && target[type] instanceof Map && !copied.has(type)) {
        copied.add(type);
        target[type] = new Map(target[type]);
      }
      return target[type];
    },
  });
  for (const m of outbox) OVERLAY[m.name]?.(writable, m.args, m, me);
  return view;
}

/** The base an edit sends: per edited field, the field_hlc this phone shows for it (its own
 *  pending edit's stamp if it has one, so two offline edits in a row stay sequential). */
export function baseFor(record, fields) {
  const base = {};
  for (const name of Object.keys(fields)) if (record.field_hlc?.[name]) base[name] = record.field_hlc[name];
  return base;
}
