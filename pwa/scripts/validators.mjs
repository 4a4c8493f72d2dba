// Build step: the server's JSON Schema (dumped by dump_schema.py from the schemas package)
// compiled by Ajv into standalone validator code, one function per mutation@version, at
// src/generated/validators.js. The phone loads it lazily (one precached chunk), so no
// schema compiler and no `new Function` run on the phone, and it works offline on the
// first day. Whatever the schema says (limits, lengths, patterns) is what the phone checks.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import standaloneCode from 'ajv/dist/standalone/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(here, '..', 'src', 'generated');
const venv = join(root, '.venv', 'bin', 'python');
const python = process.env.PYTHON || (existsSync(venv) ? venv : 'python3');

execFileSync(python, [join(here, 'dump_schema.py')], { stdio: 'inherit' });
const schema = JSON.parse(readFileSync(join(out, 'sync-schema.json'), 'utf8'));

// A pattern written for Python's `re` that JavaScript cannot read is left to the server
// (which checks every mutation anyway) rather than breaking the build; it is named here.
const dropped = [];
(function visit(node, path) {
  if (Array.isArray(node)) return node.forEach((x, i) => visit(x, `${path}/${i}`));
  if (!node || typeof node !== 'object') return;
  if (typeof node.pattern === 'string') {
    try { new RegExp(node.pattern, 'u'); } catch { dropped.push(`${path}: ${node.pattern}`); delete node.pattern; }
  }
  for (const [k, v] of Object.entries(node)) visit(v, `${path}/${k}`);
})(schema, '');
if (dropped.length) console.warn(`validators: patterns the phone cannot check (left to the server):\n  ${dropped.join('\n  ')}`);

const ajv = new Ajv({ allErrors: true, strict: false, messages: false, code: { source: true, esm: true, optimize: true } });
addFormats(ajv);
ajv.addSchema({ ...schema, $id: 'contract' });
const exportsMap = {};
const names = {};
Object.keys(schema.mutations).sort().forEach((key, i) => {
  const ident = `m${i}`;
  exportsMap[ident] = `contract#/mutations/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
  names[key] = ident;
});
let code = standaloneCode(ajv, exportsMap);
// Ajv's ESM output still `require`s its runtime helper for string lengths (code points,
// as Python's len); it is one line, inlined here so the file is plain ESM for Vite and Node.
code = code.replace('require("ajv/dist/runtime/ucs2length").default', '((s) => { let n = 0; for (const _ of s) n++; return n; })');
const left = code.match(/require\([^)]*\)/g);
if (left) throw new Error(`validators: unexpected runtime imports in Ajv's code: ${[...new Set(left)].join(', ')}`);
code += `\nexport const VALIDATORS = {${Object.entries(names).map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}};\n`;
writeFileSync(join(out, 'validators.js'), code);
console.log(`validators: ${Object.keys(names).length} mutations, ${(code.length / 1024).toFixed(1)} KB of code`);
