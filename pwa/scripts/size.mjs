// Prints the gzipped size of the built JavaScript and fails the build above the budget.
// "First load" is what index.html pulls in (its module script and everything that script
// imports statically, via modulepreload links); lazy chunks and the service worker are
// printed apart.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUDGET_KB = 150;
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const kb = (bytes) => (bytes / 1024).toFixed(1);

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const firstLoad = new Set(
  [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/?([^"]+\.js)"/g)].map((m) => m[1]),
);
const allJs = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js')).map((f) => `assets/${f}`);
const lazy = allJs.filter((f) => !firstLoad.has(f));

let first = 0;
for (const f of firstLoad) first += gz(f);
const lazyTotal = lazy.reduce((sum, f) => sum + gz(f), 0);
const sw = gz('sw.js');
for (const f of [...firstLoad, ...lazy]) console.log(`  ${f}  ${kb(gz(f))} KB gz${firstLoad.has(f) ? '' : ' (lazy)'}`);
console.log(`JS first load: ${kb(first)} KB gzipped (budget ${BUDGET_KB} KB); lazy chunks ${kb(lazyTotal)} KB; service worker ${kb(sw)} KB`);
if (!firstLoad.size) {
  console.error('size check: found no script in dist/index.html');
  process.exit(1);
}
if (first > BUDGET_KB * 1024) {
  console.error(`JS budget exceeded: ${kb(first)} KB > ${BUDGET_KB} KB gzipped`);
  process.exit(1);
}
