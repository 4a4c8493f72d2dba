// The phone's local versions of mutations (src/sync/local.js OVERLAY), run outside the
// browser for tests/test_overlay_agreement.py: reads {replica, outbox, me, config} as JSON
// on stdin, writes {names, view: {type: {id: record}}} (the records the outbox touched).
import { OVERLAY_NAMES, baseView, overlayView } from '../src/sync/local.js';
import { setApprovalThreshold } from '../src/areas/donations/model.js';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { replica = [], outbox = [], me = null, config = {} } = JSON.parse(input || '{}');
if (config.correction_approval_threshold_fen != null) setApprovalThreshold(config.correction_approval_threshold_fen);
const base = baseView(replica);
const view = overlayView(base, outbox, me);
const touched = {};
for (const [type, records] of Object.entries(view)) {
  if (records === base[type]) continue;
  touched[type] = Object.fromEntries(records);
}
process.stdout.write(JSON.stringify({ names: OVERLAY_NAMES, view: touched }));
