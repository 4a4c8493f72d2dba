// What the screens show: the replica with the pending outbox applied on top, so an edit
// made offline shows at once and after a reload. The server stays the authority: once a
// mutation is acknowledged it leaves the outbox and the replica holds the server's result.
import { DONATION_OVERLAY, DONATION_TYPES } from '../areas/donations/overlay.js';
import { TIMEBANK_OVERLAY, TIMEBANK_TYPES } from '../areas/timebank/overlay.js';

const OVERLAY = {
  'event.create'(view, args, m, me) {
    const station = view.station.get(args.station);
    const fields = { date: args.date, title: args.title, notes: args.notes ?? '', contact_phone: args.contact_phone ?? null };
    view.event.set(args.id, {
      id: args.id, station: args.station, district: station?.district ?? '', ...fields,
      created_by: me?.user ?? '', created_at: m.created_at, updated_at: m.created_at,
      field_hlc: Object.fromEntries(Object.keys(fields).map((f) => [f, m.hlc])), pending: true,
    });
  },
  'event.update'(view, args, m) {
    const event = view.event.get(args.id);
    if (!event) return;
    const stamps = Object.fromEntries(Object.keys(args.fields).map((f) => [f, m.hlc]));
    view.event.set(args.id, { ...event, ...args.fields, field_hlc: { ...event.field_hlc, ...stamps }, updated_at: m.created_at, pending: true });
  },
  'event.delete'(view, args) {
    view.event.delete(args.id);
  },
  'station.update'(view, args, m) {
    const station = view.station.get(args.code);
    if (station) view.station.set(args.code, { ...station, ...args.fields, field_hlc: { ...station.field_hlc, name: m.hlc }, pending: true });
  },
  'conflict.resolve'(view, args, m, me) {
    const conflict = view.conflict.get(args.id);
    if (!conflict) return;
    view.conflict.set(args.id, { ...conflict, status: args.action === 'restore' ? 'restored' : 'accepted', resolved_by: me?.user ?? '', resolved_at: m.created_at, pending: true });
    const record = args.action === 'restore' && view[conflict.record_type]?.get(conflict.record_id);
    if (record) view[conflict.record_type].set(conflict.record_id, { ...record, [conflict.field]: conflict.lost_value, pending: true });
  },
  ...DONATION_OVERLAY,
  ...TIMEBANK_OVERLAY,
  // Notifications (docs/notifications.md): marks and preferences show at once offline.
  'notification.mark_read'(view, args, m) {
    for (const id of args.ids) {
      const note = view.notification.get(id);
      if (note) view.notification.set(id, { ...note, read_at: args.read === false ? null : (note.read_at || m.created_at), pending: true });
    }
  },
  'notification.mark_all_read'(view, args, m) {
    for (const [id, note] of view.notification) {
      if (!note.read_at && note.created_at <= args.up_to) view.notification.set(id, { ...note, read_at: m.created_at, pending: true });
    }
  },
  'notification_prefs.set'(view, args, m, me) {
    const id = me?.user;
    if (!id) return;
    const prefs = view.notification_prefs.get(id) || { user_id: id, muted_kinds: [], stations: null, quiet_start: null, quiet_end: null, push_enabled: true, field_hlc: {} };
    const stamps = Object.fromEntries(Object.keys(args.fields).map((f) => [f, m.hlc]));
    view.notification_prefs.set(id, { ...prefs, ...args.fields, field_hlc: { ...prefs.field_hlc, ...stamps }, updated_at: m.created_at, pending: true });
  },
  'alert.set_donation_threshold'(view, args, m, me) {
    const id = `large_donation:${args.station}`;
    const station = view.station.get(args.station);
    view.alert_threshold.set(id, { ...view.alert_threshold.get(id), id, metric: 'large_donation', subject: args.station, station: args.station, district: station?.district ?? null, amount_fen: args.amount_fen, set_by: me?.user ?? '', updated_at: m.created_at, pending: true });
  },
  'alert.set_fund_low_water'(view, args, m, me) {
    const id = `fund_low:${args.fund_id}`;
    view.alert_threshold.set(id, { ...view.alert_threshold.get(id), id, metric: 'fund_low', subject: args.fund_id, station: args.station, district: args.district ?? view.station.get(args.station)?.district ?? null, amount_fen: args.amount_fen ?? null, set_by: me?.user ?? '', updated_at: m.created_at, pending: true });
  },
};

/** Every mutation with a local version (tests/test_overlay_agreement.py has a case for each). */
export const OVERLAY_NAMES = Object.keys(OVERLAY);

export const RECORD_TYPES = ['station', 'event', 'conflict', 'sync_issue', ...DONATION_TYPES, ...TIMEBANK_TYPES,
  'notification', 'notification_prefs', 'alert_threshold'];

/** replicaRows: [{type, id, data}]; outbox: rows in id order. Returns {type: Map(id -> data)}. */
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
