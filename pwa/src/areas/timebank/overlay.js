// Local versions of the volunteer and Time Bank mutations (docs/timebank.md), applied on
// top of the replica while they wait in the outbox, so a check-in or a redemption made
// offline shows at once. The server decides: its answer replaces all of this on sync.

export const TIMEBANK_TYPES = [
  'volunteer', 'volunteer_card', 'service_activity', 'hour_log', 'timebank_account',
  'timebank_entry', 'timebank_rate', 'redemption_item', 'redemption',
];

/** Minutes between two ISO times (the server floors the same way). */
export function minutesBetween(from, to) {
  return Math.floor((Date.parse(to) - Date.parse(from)) / 60000);
}

/** Credit cents per hour for a log: the station's rate for its service type, else one credit. */
export function rateOf(view, log) {
  return view.timebank_rate?.get(`${log.station}:${log.service_type}`)?.rate_cents ?? 100;
}

export function accountIdOf(userId) {
  return `vol:${userId}`;
}

const SIGNED = /^\d+\.[A-Za-z0-9_-]+\.[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]+$/;

/** The readable part of a signed volunteer code (the server checks the signature):
 *  `{ user, issued, expires }` (ms), or null if it is not one. */
export function codeClaims(code) {
  const text = String(code || '').trim();
  if (!SIGNED.test(text)) return null;
  const [, user, issued, expires] = text.split('.');
  try {
    const b64 = user.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    return { user: new TextDecoder('utf-8', { fatal: true }).decode(bytes), issued: parseInt(issued, 36) * 1000, expires: parseInt(expires, 36) * 1000 };
  } catch {
    return null;
  }
}

function newLog(view, args, m, me, extra) {
  const activity = view.service_activity.get(args.activity_id) || {};
  const volunteer = (args.volunteer_code && codeClaims(args.volunteer_code)?.user) || args.volunteer_id || me?.user || '';
  return {
    id: args.id, volunteer_id: volunteer, activity_id: args.activity_id,
    station: activity.station || me?.station || '', district: activity.district || '',
    service_type: activity.service_type || '', status: 'open',
    source: volunteer === me?.user ? 'self' : 'staff_scan', recorded_by: me?.user || '',
    check_in_at: args.at, check_out_at: null, minutes: null, note: '', flags: [], overlaps: [], handled_by: [me?.user || ''],
    device_check_in_at: args.at, device_check_out_at: null, received_check_in_at: m.created_at, received_check_out_at: null,
    submitted_at: null, decided_by: null, decided_at: null, decision_reason: null, credited_cents: null,
    created_at: m.created_at, updated_at: m.created_at, field_hlc: {}, pending: true, ...extra,
  };
}

/** Who handled a log (none of them may approve it), with this phone's user added. */
function handledBy(log, me) {
  const now = log.handled_by || [];
  return me?.user && !now.includes(me.user) ? [...now, me.user] : now;
}

function patch(map, id, values) {
  const row = map.get(id);
  if (row) map.set(id, { ...row, ...values, pending: true });
  return row;
}

/** The volunteer's balance moves at once for a redemption paid now or refunded. */
function moveBalance(view, userId, delta) {
  patch(view.timebank_account, accountIdOf(userId), {
    balance_cents: (view.timebank_account.get(accountIdOf(userId))?.balance_cents ?? 0) + delta,
  });
}

export const TIMEBANK_OVERLAY = {
  'volunteer.register'(view, args, m, me) {
    view.volunteer.set(args.user_id, {
      user_id: args.user_id, name: args.name, phone: args.phone ?? null, skills: args.skills ?? [],
      stations: args.stations, station: args.stations[0], district: view.station.get(args.stations[0])?.district ?? '',
      created_by: me?.user ?? '', created_at: m.created_at,
      updated_at: m.created_at, field_hlc: {}, pending: true,
    });
  },
  'activity.create'(view, args, m, me) {
    view.service_activity.set(args.id, {
      id: args.id, station: args.station, district: view.station?.get(args.station)?.district ?? '',
      event_id: args.event_id ?? null, project_id: args.project_id ?? null, service_type: args.service_type,
      title: args.title, date: args.date, notes: args.notes ?? '', created_by: me?.user ?? '',
      created_at: m.created_at, pending: true,
    });
  },
  'hours.check_in'(view, args, m, me) {
    view.hour_log.set(args.id, newLog(view, args, m, me, {}));
  },
  'hours.check_out'(view, args, m, me) {
    const log = view.hour_log.get(args.id);
    if (log && log.status === 'open') {
      patch(view.hour_log, args.id, {
        status: 'submitted', check_out_at: args.at, minutes: minutesBetween(log.check_in_at, args.at),
        device_check_out_at: args.at, received_check_out_at: m.created_at, submitted_at: m.created_at,
        handled_by: handledBy(log, me),
      });
    }
  },
  'hours.manual'(view, args, m, me) {
    view.hour_log.set(args.id, newLog(view, { ...args, at: args.check_in_at }, m, me, {
      status: 'submitted', source: 'manual', check_out_at: args.check_out_at, note: args.note ?? '',
      device_check_out_at: args.check_out_at, received_check_out_at: m.created_at, submitted_at: m.created_at,
      minutes: minutesBetween(args.check_in_at, args.check_out_at),
    }));
  },
  'hours.edit'(view, args, m, me) {
    const log = view.hour_log.get(args.id);
    if (!log) return;
    const next = { ...log, ...args.fields };
    const times = 'check_in_at' in args.fields || 'check_out_at' in args.fields;
    patch(view.hour_log, args.id, {
      ...args.fields, minutes: next.check_out_at ? minutesBetween(next.check_in_at, next.check_out_at) : null,
      ...(times ? { handled_by: handledBy(log, me) } : {}),
    });
  },
  'hours.approve'(view, args, m, me) {
    const decided = { decided_by: me?.user ?? '', decided_at: m.created_at };
    const before = view.hour_log.get(args.id);
    const credited = before?.check_out_at ? Math.round(minutesBetween(before.check_in_at, before.check_out_at) * rateOf(view, before) / 60) : null;
    const log = patch(view.hour_log, args.id, { status: 'approved', overlaps: [], credited_cents: credited, ...decided });
    if (log && args.supersede_overlapping) {
      for (const other of log.overlaps || []) patch(view.hour_log, other, { status: 'rejected', overlaps: [], ...decided });
    }
  },
  'hours.reject'(view, args, m, me) {
    patch(view.hour_log, args.id, { status: 'rejected', decision_reason: args.reason, overlaps: [], decided_by: me?.user ?? '', decided_at: m.created_at });
  },
  'redemption.request'(view, args, m, me) {
    const item = view.redemption_item.get(args.item_id);
    if (!item) return;
    const balance = view.timebank_account.get(accountIdOf(me?.user))?.balance_cents ?? 0;
    const outOfStock = item.stock !== null && item.stock < 1;
    const covered = !outOfStock && balance >= item.cost_cents;
    view.redemption.set(args.id, {
      id: args.id, item_id: item.id, volunteer_id: me?.user ?? '', station: item.station, district: item.district,
      cost_cents: item.cost_cents, status: covered ? 'requested' : 'needs_review',
      review_reason: covered ? null : outOfStock ? 'out_of_stock' : 'balance_insufficient', debited: covered,
      requested_at: m.created_at, decided_by: null, decided_at: null, decline_reason: null, fulfilled_at: null,
      updated_at: m.created_at, pending: true,
    });
    if (covered) {
      moveBalance(view, me?.user, -item.cost_cents);
      if (item.stock !== null) patch(view.redemption_item, item.id, { stock: item.stock - 1 });
    }
  },
  'redemption.approve'(view, args, m, me) {
    patch(view.redemption, args.id, { status: 'approved', decided_by: me?.user ?? '', decided_at: m.created_at });
  },
  'redemption.fulfil'(view, args, m) {
    patch(view.redemption, args.id, { status: 'fulfilled', fulfilled_at: m.created_at });
  },
  'redemption.decline'(view, args, m, me) {
    const redemption = patch(view.redemption, args.id, { status: 'declined', decline_reason: args.reason, decided_by: me?.user ?? '', decided_at: m.created_at });
    if (redemption?.debited) moveBalance(view, redemption.volunteer_id, redemption.cost_cents);
  },
};
