// Manager review: conflicts with both values side by side (accept the decided one, or
// restore the other through conflict.resolve), then the rejected and flagged submissions
// of the station (sync_issue records).
import { useEffect, useState } from 'preact/hooks';
import { has, pick, t } from '../../i18n.js';
import { stampTime } from '../../sync/hlc.js';
import { act } from '../../state.js';
import { timeOf } from '../../ui/format.js';

function show(value) {
  return value === null || value === undefined || value === '' ? t('review.empty_value') : String(value);
}

export function Review({ app, params }) {
  const focus = params?.[0]; // /review/<sync_issue id>, from a notification
  useEffect(() => { if (focus) document.getElementById(`issue-${focus}`)?.scrollIntoView({ block: 'center' }); }, [focus, app.loaded]);
  const conflicts = [...app.view.conflict.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  const open = conflicts.filter((c) => c.status === 'open');
  const done = conflicts.filter((c) => c.status !== 'open');
  const allIssues = [...app.view.sync_issue.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  // Settled ones (the log decided, the conflicts resolved, marked handled) leave the list.
  const issues = allIssues.filter((i) => !i.resolved_at);
  const handled = allIssues.filter((i) => i.resolved_at);
  return (
    <main class="screen review">
      <h1>{t('review.title')}</h1>
      <h2>{t('review.conflicts', { n: open.length })}</h2>
      {open.length === 0 && <p class="muted">{t('review.no_conflicts')}</p>}
      <ul class="plain">{open.map((c) => <Conflict key={c.id} conflict={c} app={app} />)}</ul>
      {done.length > 0 && (
        <details>
          <summary>{t('review.resolved', { n: done.length })}</summary>
          <ul class="plain">{done.map((c) => <Conflict key={c.id} conflict={c} app={app} />)}</ul>
        </details>
      )}
      <h2>{t('review.issues', { n: issues.length })}</h2>
      {issues.length === 0 && <p class="muted">{t('review.no_issues')}</p>}
      <ul class="plain">{issues.map((issue) => <Issue key={issue.id} issue={issue} focus={focus} />)}</ul>
      {handled.length > 0 && (
        <details class="history" data-testid="review-handled">
          <summary>{t('review.issues_done', { n: handled.length })}</summary>
          <ul class="plain">{handled.map((issue) => <Issue key={issue.id} issue={issue} focus={focus} />)}</ul>
        </details>
      )}
    </main>
  );
}

function Issue({ issue, focus }) {
  return (
    <li id={`issue-${issue.id}`} class={`issue ${issue.status}${issue.id === focus ? ' focus' : ''}`} data-testid="review-issue" data-resolved={issue.resolved_at ? '1' : '0'}>
      <div><strong>{t(issue.status === 'flagged' ? 'sync.flagged' : 'sync.rejected')}</strong> · {t(`mutation.${issue.mutation}`)}</div>
      <div>{pick(issue.message)}</div>
      <div class="muted">{issue.user} · {timeOf(issue.created_at)}</div>
      {issue.resolved_at ? <p class="muted">{t('review.handled', { user: issue.resolved_by || '' })}</p> : (
        <div class="row">
          <button type="button" class="small" onClick={() => act('sync_issue.resolve', { id: issue.id })} data-testid="issue-handled">{t('review.mark_handled')}</button>
        </div>
      )}
    </li>
  );
}

/** Free-text fields a manager may merge by hand (sync/builtin.py MERGEABLE). */
const MERGEABLE = new Set(['event:notes', 'hour_log:note', 'redemption_item:description']);

function fieldLabel(c) {
  if (c.record_type === 'event') return t(`event.${c.field}`);
  return has(`review.field.${c.field}`) ? t(`review.field.${c.field}`) : (has(`event.${c.field}`) ? t(`event.${c.field}`) : c.field);
}

function Conflict({ conflict: c, app }) {
  const [merging, setMerging] = useState(null);
  const mergeable = MERGEABLE.has(`${c.record_type}:${c.field}`);
  const record = app.view[c.record_type]?.get(c.record_id);
  const title = record?.title || record?.name || c.record_id.slice(0, 8);
  const when = (stamp) => { const ms = stampTime(stamp); return ms ? timeOf(new Date(ms).toISOString()) : ''; };
  return (
    <li class="conflict" data-testid="conflict" data-status={c.status}>
      <div class="what">
        <a href={c.record_type === 'event' ? `#/events/${c.record_id}` : '#/review'}>{title}</a> · {fieldLabel(c)}
      </div>
      <div class="sides">
        <div class="side kept">
          <div class="label">{t('review.kept')}</div>
          <div class="value" data-testid="conflict-kept">{show(c.kept_value)}</div>
          <div class="muted">{t('review.by', { user: c.kept_by, time: when(c.kept_hlc) })}</div>
        </div>
        <div class="side lost">
          <div class="label">{t('review.lost')}</div>
          <div class="value" data-testid="conflict-lost">{show(c.lost_value)}</div>
          <div class="muted">{t('review.by', { user: c.lost_by, time: when(c.lost_hlc) })}</div>
        </div>
      </div>
      {c.status === 'open' && merging !== null && (
        <form class="merge" data-testid="conflict-merge-form" onSubmit={(e) => { e.preventDefault(); act('conflict.resolve', { id: c.id, action: 'merge', value: merging }); setMerging(null); }}>
          <label>{t('review.merge_label')}<textarea name="merged" rows={5} maxLength={4000} value={merging} onInput={(e) => setMerging(e.currentTarget.value)} /></label>
          <div class="row">
            <button type="button" onClick={() => setMerging(null)}>{t('event.cancel')}</button>
            <button type="submit" class="primary" data-testid="conflict-merge-save">{t('review.merge_save')}</button>
          </div>
        </form>
      )}
      {c.status === 'open' && merging === null ? (
        <div class="row">
          <button type="button" onClick={() => act('conflict.resolve', { id: c.id, action: 'accept' })} data-testid="conflict-accept">{t('review.accept')}</button>
          <button type="button" class="primary" onClick={() => act('conflict.resolve', { id: c.id, action: 'restore' })} data-testid="conflict-restore">{t('review.restore')}</button>
        </div>
      ) : c.status === 'open' ? null : (
        <p class="muted">{t(`review.status.${c.status}`)}{c.resolved_by ? ` · ${c.resolved_by}` : ''}</p>
      )}
      {c.status === 'open' && merging === null && mergeable && (
        <button type="button" class="block" onClick={() => setMerging(`${show(c.kept_value)}\n${show(c.lost_value)}`)} data-testid="conflict-merge">{t('review.merge')}</button>
      )}
    </li>
  );
}

/** The number on the Review tab. */
export function openConflicts(app) {
  let n = 0;
  for (const c of app.view.conflict.values()) if (c.status === 'open') n++;
  return n;
}
