// Hybrid logical clock stamps in the server's format (sync/hlc.py):
// "<16-digit ms>:<4-digit counter>:<node>", so string order is clock order.
// Stamps only break ties between concurrent edits; the outbox id orders our own work.

const MAX_COUNTER = 9999;

export function formatStamp(ms, counter, node) {
  return `${String(ms).padStart(16, '0')}:${String(counter).padStart(4, '0')}:${node}`;
}

export function parseStamp(text) {
  const [ms, counter, ...node] = String(text).split(':');
  if (ms?.length !== 16 || counter?.length !== 4 || !node.length) return null;
  return { ms: Number(ms), counter: Number(counter), node: node.join(':') };
}

/** The next local stamp after `last` (a stamp string or null), on wall clock `wallMs`. */
export function nextStamp(last, node, wallMs = Date.now()) {
  const prev = last ? parseStamp(last) : null;
  if (!prev || wallMs > prev.ms) return formatStamp(wallMs, 0, node);
  if (prev.counter >= MAX_COUNTER) return formatStamp(prev.ms + 1, 0, node);
  return formatStamp(prev.ms, prev.counter + 1, node);
}

/** The higher of two stamps by clock (ms, counter); node is ignored for a high-water mark. */
export function laterStamp(a, b) {
  if (!a) return b || null;
  if (!b) return a;
  const pa = parseStamp(a), pb = parseStamp(b);
  if (!pa) return b;
  if (!pb) return a;
  return pb.ms > pa.ms || (pb.ms === pa.ms && pb.counter > pa.counter) ? b : a;
}

/** Milliseconds since the epoch of a stamp (for showing when an edit was made). */
export function stampTime(text) {
  const p = parseStamp(text);
  return p ? p.ms : null;
}
