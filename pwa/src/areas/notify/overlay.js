// Local versions of the notification mutations (docs/notifications.md): marks and
// preferences show at once offline. Registered with src/sync/local.js by src/areas/index.js.

export const NOTIFY_TYPES = ['notification', 'notification_prefs', 'alert_threshold'];

export const NOTIFY_OVERLAY = {
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
