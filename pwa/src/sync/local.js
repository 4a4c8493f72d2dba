// What the screens show: the replica with the pending outbox applied on top, so an edit
// made offline shows at once and after a reload. The server stays the authority: once a
// mutation is acknowledged it leaves the outbox and the replica holds the server's result.
import { TIMEBANK_OVERLAY, TIMEBANK_TYPES } from '../screens/timebank/overlay.js';

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
  'conflict.resolve'(view, args) {
    const conflict = view.conflict.get(args.id);
    if (!conflict) return;
    view.conflict.set(args.id, { ...conflict, status: args.action === 'restore' ? 'restored' : 'accepted', pending: true });
    const record = args.action === 'restore' && view[conflict.record_type]?.get(conflict.record_id);
    if (record) view[conflict.record_type].set(conflict.record_id, { ...record, [conflict.field]: conflict.lost_value, pending: true });
  },
  ...TIMEBANK_OVERLAY,
};

export const RECORD_TYPES = ['station', 'event', 'conflict', 'sync_issue', ...TIMEBANK_TYPES];

/** replicaRows: [{type, id, data}]; outbox: rows in id order. Returns {type: Map(id -> data)}. */
export function buildView(replicaRows, outbox, me) {
  const view = Object.fromEntries(RECORD_TYPES.map((t) => [t, new Map()]));
  for (const { type, id, data } of replicaRows) {
    if (!view[type]) view[type] = new Map();
    view[type].set(id, data);
  }
  for (const m of outbox) OVERLAY[m.name]?.(view, m.args, m, me);
  return view;
}

/** The base an edit sends: per edited field, the field_hlc this phone shows for it (its own
 *  pending edit's stamp if it has one, so two offline edits in a row stay sequential). */
export function baseFor(record, fields) {
  const base = {};
  for (const name of Object.keys(fields)) if (record.field_hlc?.[name]) base[name] = record.field_hlc[name];
  return base;
}
