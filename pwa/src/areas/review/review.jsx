// Manager review: conflicts with both values side by side (accept the decided one, or
// restore the other through conflict.resolve), then the rejected and flagged submissions
// of the station (sync_issue records).
import { useEffect } from 'preact/hooks';
import { pick, t } from '../../i18n.js';
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
  const issues = [...app.view.sync_issue.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
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
      <ul class="plain">
        {issues.map((issue) => (
          <li key={issue.id} id={`issue-${issue.id}`} class={`issue ${issue.status}${issue.id === focus ? ' focus' : ''}`} data-testid="review-issue">
            <div><strong>{t(issue.status === 'flagged' ? 'sync.flagged' : 'sync.rejected')}</strong> · {t(`mutation.${issue.mutation}`)}</div>
            <div>{pick(issue.message)}</div>
            <div class="muted">{issue.user} · {timeOf(issue.created_at)}</div>
          </li>
        ))}
      </ul>
    </main>
  );
}

function Conflict({ conflict: c, app }) {
  const record = app.view[c.record_type]?.get(c.record_id);
  const title = record?.title || record?.name || c.record_id.slice(0, 8);
  const when = (stamp) => { const ms = stampTime(stamp); return ms ? timeOf(new Date(ms).toISOString()) : ''; };
  return (
    <li class="conflict" data-testid="conflict" data-status={c.status}>
      <div class="what">
        <a href={c.record_type === 'event' ? `#/events/${c.record_id}` : '#/review'}>{title}</a> · {t(`event.${c.field}`)}
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
      {c.status === 'open' ? (
        <div class="row">
          <button type="button" onClick={() => act('conflict.resolve', { id: c.id, action: 'accept' })} data-testid="conflict-accept">{t('review.accept')}</button>
          <button type="button" class="primary" onClick={() => act('conflict.resolve', { id: c.id, action: 'restore' })} data-testid="conflict-restore">{t('review.restore')}</button>
        </div>
      ) : (
        <p class="muted">{t(`review.status.${c.status}`)}{c.resolved_by ? ` · ${c.resolved_by}` : ''}</p>
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
