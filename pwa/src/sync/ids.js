// Time-ordered ids (UUIDv7, RFC 9562) for new records and mutation keys. The server
// accepts any UUID, but ids that start with the millisecond they were made land at the
// right edge of its indexes instead of at a random page (docs/protocol.md, "Ids and keys").
// Use newId() wherever a screen makes the id of a new record.

/** A UUIDv7 string: 48 bits of Unix milliseconds, version 7, 74 random bits. */
export function uuid7(now = Date.now()) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ms = now;
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const newId = uuid7;
