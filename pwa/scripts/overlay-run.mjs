// The phone's local versions of mutations (each area's overlay, registered with
// src/sync/local.js), run outside the browser for tests/test_overlay_agreement.py: reads
// {replica, outbox, me, config} as JSON on stdin, writes {names, view: {type: {id: record}}}
// (the records the outbox touched).
import { baseView, overlayNames, overlayView } from '../src/sync/local.js';
import { setApprovalThreshold } from '../src/areas/donations/model.js';
import { registerAreaRecords } from './area-records.mjs';

await registerAreaRecords();
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
process.stdout.write(JSON.stringify({ names: overlayNames(), view: touched }));
