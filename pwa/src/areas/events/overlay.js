// Local versions of the station and event mutations (docs/protocol.md): an event made or
// edited offline shows at once and after a reload, marked `pending`, until the server's
// answer replaces it on sync. Registered with src/sync/local.js by src/areas/index.js.

export const EVENTS_TYPES = ['station', 'event'];

export const EVENTS_OVERLAY = {
  'event.create'(view, args, m, me) {
    const station = view.station.get(args.station);
    const fields = { date: args.date, title: args.title, notes: args.notes ?? '', contact_phone: args.contact_phone ?? null };
    view.event.set(args.id, {
      id: args.id, station: args.station, district: station?.district ?? '', ...fields,
      created_by: me?.user ?? '', created_at: m.created_at, updated_at: m.created_at,
      field_hlc: Object.fromEntries(Object.keys({ ...fields, campaign: null }).map((f) => [f, m.hlc])), pending: true,
      campaign: args.campaign ?? null,
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
    if (!station) return;
    const stamps = Object.fromEntries(Object.keys(args.fields).map((f) => [f, m.hlc]));
    view.station.set(args.code, { ...station, ...args.fields, field_hlc: { ...station.field_hlc, ...stamps }, updated_at: m.created_at, pending: true });
  },
};
