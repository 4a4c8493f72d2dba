// What every form of the app shares (docs/pwa.md "Forms"):
// - each mutation's args are checked against the server's own JSON Schema before they are
//   queued (validators compiled at build time from the schemas package, loaded lazily from
//   one precached chunk), and a refusal is shown on its field in Chinese and English;
// - one intent, one mutation: a form is busy while saving (a second tap does nothing), and
//   its mutation key and record id are fixed per intent, so even a second enqueue of the
//   same intent is the same act (the outbox keeps one, the server answers `duplicate`).
import { useEffect, useRef, useState } from 'preact/hooks';
import { addStrings, pick, t } from '../i18n.js';
import { yuan } from './format.js';
import { uuid7 } from '../sync/ids.js';
import { deleteMeta, getMeta, openStore, setMeta } from '../sync/store.js';

addStrings({
  'form.saved': ['已保存', 'Saved'],
  'form.saving': ['保存中…', 'Saving…'],
  'form.check_fields': ['请修改标红的内容', 'Please fix the fields marked in red'],
  'form.field_problem': ['{field}:{msg}', '{field}: {msg}'],
  'draft.restored': ['草稿已恢复', 'Draft restored'],
  'draft.discard': ['丢弃草稿', 'Discard draft'],
});

let loading = null;
/** The compiled validators, `{"name@version": validate}`; null when the chunk cannot load
 *  (then the server, which checks every mutation anyway, is the only check). */
export function loadValidators() {
  if (!loading) loading = import('../generated/validators.js').then((m) => m.VALIDATORS, () => { loading = null; return null; });
  return loading;
}

/** A mutation the schema refuses: `fields` maps a path ("amount_fen", "items.0.name",
 *  "donor.phone") to its message `{zh, en}`. Nothing was queued. */
export class ArgsInvalid extends Error {
  constructor(name, fields) {
    super(`${name}: ${Object.entries(fields).map(([f, m]) => `${f} ${m.en}`).join('; ')}`);
    this.mutation = name;
    this.fields = fields;
  }
}

const VAGUE = new Set(['type', 'anyOf', 'oneOf', 'allOf', 'if', 'not', 'const']);

function money(path) {
  return /(^|\.)(\w*_fen|amount|value)$/.test(path);
}

/** One Ajv error as words, for the field at `path`. Amounts in fen read as yuan. */
export function describeError(error, path) {
  const p = error.params || {};
  const n = (v) => (money(path) ? `¥${yuan(v)}` : String(v));
  switch (error.keyword) {
    case 'maximum': return { zh: `不能超过 ${n(p.limit)}`, en: `must be at most ${n(p.limit)}` };
    case 'exclusiveMaximum': return { zh: `必须小于 ${n(p.limit)}`, en: `must be less than ${n(p.limit)}` };
    case 'minimum':
      return money(path) && p.limit === 1 ? { zh: '必须大于 0', en: 'must be more than 0' }
        : { zh: `不能少于 ${n(p.limit)}`, en: `must be at least ${n(p.limit)}` };
    case 'exclusiveMinimum': return { zh: `必须大于 ${n(p.limit)}`, en: `must be more than ${n(p.limit)}` };
    case 'maxLength': return { zh: `最多 ${p.limit} 个字`, en: `at most ${p.limit} characters` };
    case 'minLength':
      return p.limit === 1 ? { zh: '不能为空', en: 'must not be empty' } : { zh: `至少 ${p.limit} 个字`, en: `at least ${p.limit} characters` };
    case 'pattern': return { zh: '含有不允许的字符,或格式不对', en: 'has characters or a format that is not allowed' };
    case 'required': return { zh: '必须填写', en: 'required' };
    case 'maxItems': return { zh: `最多 ${p.limit} 项`, en: `at most ${p.limit} entries` };
    case 'minItems': return { zh: `至少 ${p.limit} 项`, en: `at least ${p.limit} entries` };
    case 'multipleOf': return { zh: `必须是 ${n(p.multipleOf)} 的整数倍`, en: `must be a multiple of ${n(p.multipleOf)}` };
    case 'enum': return { zh: '不是可选的值', en: 'not one of the allowed values' };
    default: return { zh: '格式不对', en: 'not valid' };
  }
}

/** Ajv's errors as {path: message}, one per field, the most telling one: a nullable field
 *  (`anyOf: [{...}, {type: null}]`) fails both branches; its limit says more than "not null". */
export function fieldErrors(errors) {
  const byPath = new Map();
  for (const error of errors || []) {
    let path = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).join('.');
    if (error.keyword === 'required') path = path ? `${path}.${error.params.missingProperty}` : error.params.missingProperty;
    if (error.keyword === 'additionalProperties') path = path ? `${path}.${error.params.additionalProperty}` : error.params.additionalProperty;
    const kept = byPath.get(path);
    if (!kept || (VAGUE.has(kept.keyword) && !VAGUE.has(error.keyword))) byPath.set(path, error);
  }
  return Object.fromEntries([...byPath].map(([path, error]) => [path, describeError(error, path)]));
}

/** null when `args` are what the server's schema accepts for name@version, else the
 *  {path: message} of each refused field. An unknown mutation is left to the server. */
export async function checkArgs(name, args, version = 1) {
  const validators = await loadValidators();
  const validate = validators?.[`${name}@${version}`];
  if (!validate || validate(args)) return null;
  return fieldErrors(validate.errors);
}

/** The message of one field (or of a field below it, e.g. "items.0" for "items.0.name"). */
export function errorAt(fields, path) {
  if (!fields) return null;
  if (fields[path]) return fields[path];
  const below = Object.keys(fields).find((f) => f.startsWith(`${path}.`));
  return below ? fields[below] : null;
}

/** The refused fields no input of the form shows, as one line each ("note: at most 4000 characters"). */
export function otherErrors(fields, shown) {
  return Object.entries(fields || {}).filter(([f]) => !shown.some((s) => f === s || f.startsWith(`${s}.`)))
    .map(([f, m]) => ({ zh: `${f}:${m.zh}`, en: `${f}: ${m.en}` }));
}

/**
 * One form's submit: `run(async (intent) => ...)` does nothing while a save is running (a
 * double tap), keeps the intent's `key` and `id` until the form is done (so a retry after a
 * refused field, or a second enqueue, is the same act), shows field errors from
 * `ArgsInvalid`, and on success shows `saved` for a few seconds and forgets the intent.
 */
export function useSubmit() {
  const [state, setState] = useState({ saving: false, fields: null, error: '', saved: false });
  const busy = useRef(false);
  const intent = useRef(null);
  const timer = useRef(null);
  const current = () => {
    if (!intent.current) intent.current = { key: uuid7(), id: uuid7(), extra: {} };
    return intent.current;
  };
  async function run(work) {
    if (busy.current) return false;
    busy.current = true;
    setState({ saving: true, fields: null, error: '', saved: false });
    try {
      const result = await work(current());
      if (result === false) { setState((s) => ({ ...s, saving: false })); return false; }
      intent.current = null;
      clearTimeout(timer.current);
      setState({ saving: false, fields: null, error: '', saved: true });
      timer.current = setTimeout(() => setState((s) => ({ ...s, saved: false })), 4000);
      return true;
    } catch (err) {
      if (err instanceof ArgsInvalid) setState({ saving: false, fields: err.fields, error: t('form.check_fields'), saved: false });
      else setState({ saving: false, fields: null, error: String(err?.message || err), saved: false });
      return false;
    } finally {
      busy.current = false;
    }
  }
  const fail = (message) => { setState({ saving: false, fields: null, error: message, saved: false }); return false; };
  const showFields = (fields) => { setState({ saving: false, fields, error: t('form.check_fields'), saved: false }); return false; };
  /** The user changed the form: the old errors no longer describe it. */
  const clear = () => setState((s) => (s.fields || s.error ? { ...s, fields: null, error: '' } : s));
  return { ...state, run, fail, showFields, clear, reset: () => { intent.current = null; } };
}

/** The message of a field as text in the current language, or ''. */
export function fieldText(fields, path) {
  const m = errorAt(fields, path);
  return m ? pick(m) : '';
}

/** A draft is kept this long, then dropped unread: it holds personal data (a donor's name and
 *  phone), and a form left for a day is not one anybody is still in the middle of. */
export const DRAFT_TTL_MS = 24 * 3600 * 1000;
const DRAFT_PREFIX = 'draft:';

/** The meta key of one form's draft for the person signed in on this phone. */
export function draftKey(me, form) {
  return `${DRAFT_PREFIX}${me?.user || ''}:${form}`;
}

/** Drop drafts older than DRAFT_TTL_MS (of any form), so an abandoned one does not linger. */
export async function sweepDrafts(now = Date.now()) {
  const db = await openStore();
  const keys = (await db.getAllKeys('meta')).filter((k) => typeof k === 'string' && k.startsWith(DRAFT_PREFIX));
  for (const key of keys) {
    const row = await db.get('meta', key);
    if (!row || !(now - Date.parse(row.saved_at) < DRAFT_TTL_MS)) await db.delete('meta', key);
  }
}

/**
 * Keep a form's fields as a draft until it is saved or discarded, so a reload (or a phone
 * that killed the tab) does not lose an amount and a donor half typed. The draft lives in
 * the phone's `meta` store (never in the outbox, never synced), keyed per signed-in person
 * and form, so a sign-out or a wipe (`forgetAll` clears `meta`) takes it with it, and it
 * expires after DRAFT_TTL_MS.
 *
 * `value` is the form's state, `restore(value)` sets it; `blank` is the empty form (a form
 * back to blank has no draft). Returns `{restored, discard(), done()}`: call `done()` once the
 * form is saved; `discard()` empties the form and drops the draft.
 */
export function useDraft(me, form, value, restore, blank) {
  const key = draftKey(me, form);
  const [restored, setRestored] = useState(false);
  const loaded = useRef(false);
  const finished = useRef(false);
  const empty = useRef(JSON.stringify(blank));
  useEffect(() => {
    let live = true;
    loaded.current = false;
    finished.current = false;
    (async () => {
      await sweepDrafts().catch(() => {});
      const row = await getMeta(key).catch(() => null);
      if (!live) return;
      if (row && Date.now() - Date.parse(row.saved_at) < DRAFT_TTL_MS && JSON.stringify(row.value) !== empty.current) {
        restore(row.value);
        setRestored(true);
      }
      loaded.current = true;
    })();
    return () => { live = false; };
  }, [key]);
  const text = JSON.stringify(value);
  useEffect(() => {
    if (!loaded.current) return;
    // written at every change (one small put): a debounce would lose the last keys to a reload.
    // After done() the saved values may still show until the form is emptied: not a draft.
    if (text === empty.current) { finished.current = false; deleteMeta(key).catch(() => {}); }
    else if (!finished.current) setMeta(key, { value, saved_at: new Date().toISOString() }).catch(() => {});
  }, [text, key]);
  return {
    restored,
    /** The form was saved: forget the draft (and keep none of these values). */
    done() {
      finished.current = true;
      setRestored(false);
      return deleteMeta(key).catch(() => {});
    },
    /** Empty the form and forget its draft. */
    discard() {
      setRestored(false);
      restore(JSON.parse(empty.current));
      return deleteMeta(key).catch(() => {});
    },
  };
}
