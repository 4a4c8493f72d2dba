// Every area's record types and mutation overlay, registered with src/sync/local.js outside
// the browser (node tests, overlay-run.mjs). An area's index.js imports its screens (JSX,
// which Node cannot load), so this reads each src/areas/<area>/overlay.js instead: it
// exports one `<NAME>_TYPES` list and one `<NAME>_OVERLAY` table, the same two pieces the
// area's index.js hands to registerArea() in the app (pwa/tests/areas.test.js checks that).
import { existsSync, readdirSync } from 'node:fs';
import { registerArea } from '../src/sync/local.js';

export const AREAS_DIR = new URL('../src/areas/', import.meta.url);

/** Folder names of the areas (those with an index.js), sorted. */
export function areaFolders() {
  return readdirSync(AREAS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(new URL(`${entry.name}/index.js`, AREAS_DIR)))
    .map((entry) => entry.name).sort();
}

/** {folder: {types, overlay, typesName, overlayName}} for each area with an overlay.js. */
export async function areaRecords() {
  const found = {};
  for (const folder of areaFolders()) {
    const file = new URL(`${folder}/overlay.js`, AREAS_DIR);
    if (!existsSync(file)) continue;
    const module = await import(file);
    const typesName = Object.keys(module).filter((name) => name.endsWith('_TYPES'));
    const overlayName = Object.keys(module).filter((name) => name.endsWith('_OVERLAY'));
    if (typesName.length !== 1 || overlayName.length !== 1) {
      throw new Error(`src/areas/${folder}/overlay.js must export one *_TYPES and one *_OVERLAY (has ${Object.keys(module)})`);
    }
    found[folder] = { types: module[typesName[0]], overlay: module[overlayName[0]], typesName: typesName[0], overlayName: overlayName[0] };
  }
  return found;
}

/** Register every area's records with the sync layer, as src/areas/index.js does in the app. */
export async function registerAreaRecords() {
  for (const { types, overlay } of Object.values(await areaRecords())) registerArea({ types, overlay });
}
