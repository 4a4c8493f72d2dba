// Local versions of the console's mutations: what the admin did shows at once (marked
// 待同步) and after a reload, offline too; the server's records replace them once synced.
// Record shapes follow the server's wire (schemas/people.py, donations.py, timebank.py).

/** The head of an empty fund's hash chain (server/domain/funds.py). */
const GENESIS = '0'.repeat(64);

export const ADMIN_TYPES = ['district', 'membership'];

function put(view, type, id, record) {
  if (!view[type]) view[type] = new Map();
  view[type].set(id, record);
}

function membershipOf(args, person, m, me, station) {
  return {
    id: args.id, user_id: args.user_id, role: args.role,
    station: args.station ?? null,
    district: args.district ?? station?.district ?? null,
    name: person.name, phone: person.phone ?? null, languages: person.languages ?? 'zh',
    created_at: m.created_at, created_by: me?.user ?? null, ended_at: null, pending: true,
  };
}

/** The person as the phone knows them: from any of their membership records. */
export function personFrom(view, userId) {
  for (const row of view.membership?.values() || []) if (row.user_id === userId) return row;
  return null;
}

export const ADMIN_OVERLAY = {
  'district.create'(view, args, m, me) {
    put(view, 'district', args.name, { name: args.name, created_at: m.created_at, created_by: me?.user ?? null, pending: true });
  },
  'station.create'(view, args, m) {
    put(view, 'station', args.code, {
      code: args.code, name: args.name, district: args.district, pin_required: args.pin_required ?? true,
      created_at: m.created_at, updated_at: m.created_at, field_hlc: { name: m.hlc, pin_required: m.hlc }, pending: true,
    });
    if (view.district && !view.district.has(args.district)) {
      put(view, 'district', args.district, { name: args.district, created_at: m.created_at, created_by: null, pending: true });
    }
  },
  'person.create'(view, args, m, me) {
    if (!args.membership) return; // a person without a membership is not listed anywhere
    const person = { name: args.name, phone: args.phone ?? null, languages: args.languages ?? 'zh' };
    const spec = { ...args.membership, user_id: args.id };
    put(view, 'membership', spec.id, membershipOf(spec, person, m, me, spec.station && view.station?.get(spec.station)));
  },
  'person.update'(view, args) {
    for (const [id, row] of view.membership || []) {
      if (row.user_id === args.id) view.membership.set(id, { ...row, ...args.fields, pending: true });
    }
  },
  'membership.add'(view, args, m, me) {
    const person = personFrom(view, args.user_id) || { name: args.user_id };
    put(view, 'membership', args.id, membershipOf(args, person, m, me, args.station && view.station?.get(args.station)));
  },
  'membership.end'(view, args, m) {
    const row = view.membership?.get(args.id);
    if (row) view.membership.set(args.id, { ...row, ended_at: m.created_at, pending: true });
  },
  'fund.create'(view, args, m, me) {
    put(view, 'fund', args.id, {
      id: args.id, name: args.name, district: args.district ?? null, station: args.station ?? null,
      purpose: args.purpose ?? '', balance_fen: 0, reserved_fen: 0, head_seq: 0, head_hash: GENESIS,
      created_by: me?.user ?? '', created_at: m.created_at, pending: true,
    });
  },
  'fund.seed'(view, args) {
    const fund = view.fund?.get(args.fund_id);
    // a seed is a pair of ledger entries: two more links in the fund's chain (their hash only the server knows)
    if (fund) view.fund.set(args.fund_id, { ...fund, balance_fen: fund.balance_fen + args.amount_fen, head_seq: (fund.head_seq ?? 0) + 2, pending: true });
  },
  'project.create'(view, args, m) {
    put(view, 'project', args.id, {
      id: args.id, fund_id: args.fund_id, name: args.name, description: args.description ?? '',
      created_at: m.created_at, attachments: args.attachments || [], pending: true,
    });
  },
  'catalogue.add'(view, args, m, me) {
    const station = view.station?.get(args.station);
    put(view, 'redemption_item', args.id, {
      id: args.id, station: args.station, district: station?.district ?? '', title: args.title,
      description: args.description ?? '', kind: args.kind, cost_cents: args.cost_cents,
      stock: args.stock ?? null, active: true, created_by: me?.user ?? '', created_at: m.created_at,
      updated_at: m.created_at, field_hlc: {}, attachments: args.attachments || [], pending: true,
    });
  },
  'catalogue.update'(view, args, m) {
    const item = view.redemption_item?.get(args.id);
    if (!item) return;
    const stamps = Object.fromEntries(Object.keys(args.fields).map((f) => [f, m.hlc]));
    view.redemption_item.set(args.id, { ...item, ...args.fields, field_hlc: { ...item.field_hlc, ...stamps }, pending: true });
  },
  'catalogue.restock'(view, args) {
    const item = view.redemption_item?.get(args.id);
    if (item && item.stock !== null) view.redemption_item.set(args.id, { ...item, stock: Math.max(0, item.stock + args.delta), pending: true });
  },
  'timebank.set_rate'(view, args, m, me) {
    const id = `${args.station}:${args.service_type}`;
    put(view, 'timebank_rate', id, {
      id, station: args.station, service_type: args.service_type, rate_cents: args.rate_cents,
      updated_by: me?.user ?? '', updated_at: m.created_at, pending: true,
    });
  },
};
