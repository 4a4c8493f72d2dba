// Small pieces every form uses: a field's error under its input, the form's own line
// (error or "saved"), and the save button that is disabled while saving.
import { pick, t } from '../i18n.js';
import { errorAt, otherErrors } from './forms.js';

/** The schema's message for `path` (or a field below it), under the input. */
export function FieldError({ fields, path }) {
  const m = errorAt(fields, path);
  if (!m) return null;
  return <p class="field-error" role="alert" data-testid={`field-error-${path}`} data-field={path}>{pick(m)}</p>;
}

/** The form's line: its error, the refused fields no input shows, or a short "saved". */
export function FormStatus({ form, shown = [], savedText, showSaved = true }) {
  const others = otherErrors(form.fields, shown);
  return (
    <>
      {form.error && <p class="bad" role="alert" data-testid="form-error">{form.error}</p>}
      {others.map((m) => <p class="bad" role="alert" key={m.en} data-testid="form-error-other">{pick(m)}</p>)}
      {showSaved && form.saved && <p class="ok" role="status" data-testid="form-saved">✓ {savedText || t('form.saved')}</p>}
    </>
  );
}

export function SaveButton({ form, label, testid, class: cls = 'primary block', ...rest }) {
  return (
    <button class={cls} type="submit" disabled={form.saving} aria-busy={form.saving} data-testid={testid} {...rest}>
      {form.saving ? t('form.saving') : label}
    </button>
  );
}

/** "草稿已恢复" with a discard button, while a restored draft is on the form (useDraft). */
export function DraftNote({ draft }) {
  if (!draft.restored) return null;
  return (
    <div class="draft-note" role="status" data-testid="draft-restored">
      <span>{t('draft.restored')}</span>
      <button type="button" class="small" onClick={() => draft.discard()} data-testid="draft-discard">{t('draft.discard')}</button>
    </div>
  );
}
