// Local version of conflict.resolve (docs/protocol.md "Conflicts"): the decision shows at
// once, and restoring the other value shows it on the record too. Registered with
// src/sync/local.js by src/areas/index.js.

export const REVIEW_TYPES = ['conflict', 'sync_issue'];

export const REVIEW_OVERLAY = {
  'conflict.resolve'(view, args, m, me) {
    const conflict = view.conflict.get(args.id);
    if (!conflict) return;
    const status = { accept: 'accepted', restore: 'restored', merge: 'merged' }[args.action];
    view.conflict.set(args.id, { ...conflict, status, resolved_by: me?.user ?? '', resolved_at: m.created_at, pending: true });
    const record = args.action !== 'accept' && view[conflict.record_type]?.get(conflict.record_id);
    const value = args.action === 'merge' ? args.value : conflict.lost_value;
    if (record) view[conflict.record_type].set(conflict.record_id, { ...record, [conflict.field]: value, pending: true });
  },
  'sync_issue.resolve'(view, args, m, me) {
    const issue = view.sync_issue.get(args.id);
    if (!issue || issue.resolved_at) return;
    view.sync_issue.set(args.id, { ...issue, resolved_at: m.created_at, resolved_by: me?.user ?? '', pending: true });
  },
};
