// Texts of the review screen (conflicts, rejected and held submissions) [zh, en], added to
// the app's table by src/areas/index.js.

export const REVIEW_STRINGS = {
  'nav.review': ['审核', 'Review'],
  'mutation.conflict.resolve': ['处理冲突', 'Resolve conflict'],
  'review.title': ['审核', 'Review'],
  'review.conflicts': ['冲突({n})', 'Conflicts ({n})'],
  'review.no_conflicts': ['没有待处理的冲突。', 'No conflicts to review.'],
  'review.kept': ['当前值(已采用)', 'Current (kept)'],
  'review.lost': ['另一值(未采用)', 'Other (not kept)'],
  'review.by': ['{user} · {time}', '{user} · {time}'],
  'review.accept': ['保持当前值', 'Keep current'],
  'review.restore': ['改用另一值', 'Use the other'],
  'review.resolved': ['已处理({n})', 'Resolved ({n})'],
  'review.status.accepted': ['已确认当前值', 'Current value kept'],
  'review.status.restored': ['已改用另一值', 'Other value restored'],
  'review.issues': ['被拒绝与待复核的提交({n})', 'Rejected and held submissions ({n})'],
  'review.no_issues': ['没有被拒绝或待复核的提交。', 'No rejected or held submissions.'],
  'review.empty_value': ['(空)', '(empty)'],
};
