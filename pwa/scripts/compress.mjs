// Precompresses the built app once, at build time, so the server never compresses on a
// request: every text file in dist/ gets a brotli (.br, quality 11) and a gzip (.gz,
// level 9) sibling, kept only when it is smaller than the file itself. server/pwa.py
// picks the sibling the browser accepts (Accept-Encoding) and says so in
// Content-Encoding. Images (png, ico) are compressed already and are left alone.
import { readFileSync, readdirSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { dirname, join, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const TEXT = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.webmanifest', '.txt']);

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let raw = 0;
let br = 0;
let gz = 0;
for (const path of [...files(dist)]) {
  if (path.endsWith('.br') || path.endsWith('.gz')) {
    unlinkSync(path); // a sibling left from an earlier build of a file that may have changed
    continue;
  }
  if (!TEXT.has(extname(path))) continue;
  const body = readFileSync(path);
  const brotli = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    },
  });
  const gzip = gzipSync(body, { level: 9 });
  raw += body.length;
  if (brotli.length < body.length) {
    writeFileSync(`${path}.br`, brotli);
    br += brotli.length;
  } else br += body.length;
  if (gzip.length < body.length) {
    writeFileSync(`${path}.gz`, gzip);
    gz += gzip.length;
  } else gz += body.length;
}
const kb = (bytes) => (bytes / 1024).toFixed(1);
console.log(`precompressed dist: ${kb(raw)} KB of text -> ${kb(br)} KB brotli, ${kb(gz)} KB gzip`);
