// Local version of conflict.resolve (docs/protocol.md "Conflicts"): the decision shows at
// once, and restoring the other value shows it on the record too. Registered with
// src/sync/local.js by src/areas/index.js.

export const REVIEW_TYPES = ['conflict', 'sync_issue'];

export const REVIEW_OVERLAY = {
  'conflict.resolve'(view, args, m, me) {
    const conflict = view.conflict.get(args.id);
    if (!conflict) return;
    view.conflict.set(args.id, { ...conflict, status: args.action === 'restore' ? 'restored' : 'accepted', resolved_by: me?.user ?? '', resolved_at: m.created_at, pending: true });
    const record = args.action === 'restore' && view[conflict.record_type]?.get(conflict.record_id);
    if (record) view[conflict.record_type].set(conflict.record_id, { ...record, [conflict.field]: conflict.lost_value, pending: true });
  },
};
