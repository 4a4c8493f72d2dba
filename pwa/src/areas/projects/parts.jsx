// Small pieces of the project screens: a labelled progress bar, a back link, a section head.
import { t } from '../../i18n.js';

/** A bar with its number beside it; `value` 0..100. */
export function ProgressBar({ value, label, testid, small = false }) {
  const v = Math.max(0, Math.min(100, Math.round(Number(value) || 0)));
  return (
    <span class={`bar${small ? ' bar-small' : ''}`} data-testid={testid} data-value={v}>
      <span class="bar-track" role="progressbar" aria-label={label} aria-valuemin="0" aria-valuemax="100" aria-valuenow={v}>
        <span class="bar-fill" style={{ width: `${v}%` }} />
      </span>
      <span class="bar-number">{v}%</span>
    </span>
  );
}

export function BackTo({ href, label }) {
  return <a class="back" href={href}>‹ {label || t('sp.back')}</a>;
}

/** A missing project (deleted, not synced yet, or not this phone's). */
export function Missing() {
  return <main class="screen"><h1>{t('sp.title')}</h1><p>{t('sp.missing')}</p><a class="button" href="#/projects">{t('sp.back')}</a></main>;
}
