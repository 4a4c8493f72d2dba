// The sync bar on every screen: online or offline, pending count, last sync; each rejected
// item with its reason and what to do, until dismissed. Rejected items never hold back later
// ones (the server answers each on its own), they are only shown here.
import { useEffect, useState } from 'preact/hooks';
import { has, pick, t } from '../i18n.js';
import { PULL_LIMIT } from '../sync/engine.js';
import { openStore } from '../sync/store.js';
import { refresh, runner } from '../state.js';
import { clockOff, describeMutation, timeOf } from '../ui/format.js';
import { configValue } from '../config.js';
import { useFileStates } from '../ui/photos.jsx';

/** "1 day", "3 小时": how far off a clock is, in its largest whole unit. */
export function offBy(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  if (minutes >= 1440) return t('clock.days', { n: Math.round(minutes / 1440) });
  if (minutes >= 60) return t('clock.hours', { n: Math.round(minutes / 60) });
  return t('clock.minutes', { n: minutes });
}

/** The running pull's {done, total} (src/sync/runner.js), null between runs. */
function useSyncProgress() {
  const [progress, set] = useState(runner.progress);
  useEffect(() => {
    runner.progressListeners.add(set);
    set(runner.progress);
    return () => runner.progressListeners.delete(set);
  }, []);
  return progress;
}

/** Shown while a pull brings in more than one page (a first sync, a phone long offline). */
export const PROGRESS_FROM = PULL_LIMIT;

const count = (n) => n.toLocaleString('en-US');

export function SyncProgress({ progress }) {
  const { done, total } = progress;
  const pct = total ? Math.min(100, Math.floor((done * 100) / total)) : null;
  return (
    <div class="syncprogress" data-testid="sync-progress" data-done={done} data-total={total ?? ''}>
      <progress max={total || undefined} value={total ? done : undefined} aria-label={t('sync.syncing')} />
      <span data-testid="sync-progress-text">
        {total ? t('sync.progress', { done: count(done), total: count(total), pct }) : t('sync.progress_open', { done: count(done) })}
      </span>
    </div>
  );
}

export function SyncBar({ app }) {
  const progress = useSyncProgress();
  const long = progress && ((progress.total ?? progress.done) > PROGRESS_FROM || progress.done > PROGRESS_FROM);
  const [open, setOpen] = useState(false);
  const state = app.meta.sync_state || {};
  const retryAt = app.meta.retry_at;
  const lastError = app.meta.last_error;
  const [, tick] = useState(0);
  useEffect(() => {
    // The retry countdown counts down.
    if (!retryAt || retryAt < Date.now()) return undefined;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [retryAt]);
  const pending = app.outbox.length;
  const files = useFileStates();
  const filesWaiting = [...files.values()].filter((f) => f.state === 'queued').length;
  // A held submission leaves once a manager settled it (its sync_issue record, pulled by its
  // author, carries resolved_at): the banner does not keep saying "held for review".
  const settled = (o) => o.status === 'flagged' && o.issue_id && app.view.sync_issue?.get(o.issue_id)?.resolved_at;
  const problems = app.outcomes.filter((o) => !o.dismissed && !settled(o));
  const rejected = problems.filter((o) => o.status === 'rejected' || (o.status === 'duplicate' && o.code));
  const flagged = problems.filter((o) => o.status === 'flagged');
  const online = app.online;
  const last = app.meta.last_sync_at;
  // measured at every pull (meta clock_skew): positive when the server is ahead of this phone
  const skew = clockOff(app.meta, configValue(app.meta, 'clock_warn_minutes'));
  let line;
  if (state.phase === 'stopped') line = t(stoppedKey(state));
  else if (!online) line = t('sync.offline');
  else if (state.phase === 'syncing') line = t('sync.syncing');
  else if (lastError) line = t('sync.error', { msg: pick(lastError.message) }) + (retryAt > Date.now() ? ` · ${t('sync.retry_in', { s: Math.ceil((retryAt - Date.now()) / 1000) })}` : '');
  else line = t('sync.online');
  // "All synced" only when it is true: not while a sync runs or a file still waits to go
  const allSent = !pending && !long && state.phase !== 'syncing' && filesWaiting === 0;
  const tone = state.phase === 'stopped' || rejected.length ? 'bad' : !online || pending ? 'warn' : 'ok';
  return (
    <section class={`syncbar tone-${tone}`} data-testid="syncbar" data-long={long ? '1' : undefined}>
      <button type="button" class="syncline" onClick={() => setOpen(!open)} aria-expanded={open}>
        <span class={`dot ${online ? 'on' : 'off'}`} aria-hidden="true" />
        <span class="state" data-testid="sync-state">{line}</span>
        <span class="pending" data-testid="sync-pending" data-count={pending}>{pending ? t('sync.pending', { n: pending }) : allSent ? t('sync.all_sent') : ''}</span>
        {filesWaiting > 0 && <span class="pending" data-testid="files-pending" data-count={filesWaiting}>{t('files.to_upload', { n: filesWaiting })}</span>}
        <span class="last" data-testid="sync-last">{last ? t('sync.last', { time: timeOf(last) }) : t('sync.never')}</span>
      </button>
      {long && progress.done < (progress.total ?? Infinity) && <SyncProgress progress={progress} />}
      {skew !== 0 && (
        <p class="clock-warning" role="alert" data-testid="clock-warning" data-skew-ms={skew}>
          {t(skew > 0 ? 'sync.clock_behind' : 'sync.clock_ahead', { d: offBy(skew) })}
        </p>
      )}
      {(rejected.length > 0 || flagged.length > 0) && !open && (
        <button type="button" class="syncalert" onClick={() => setOpen(true)} data-testid="sync-alert">
          {rejected.length > 0 && <span class="bad">{t('sync.rejected_count', { n: rejected.length })}</span>}
          {flagged.length > 0 && <span>{t('sync.flagged_count', { n: flagged.length })}</span>}
          <span class="more">{t('sync.details')} ›</span>
        </button>
      )}
      {open && <SyncPanel app={app} problems={problems} state={state} onClose={() => setOpen(false)} />}
    </section>
  );
}

function SyncPanel({ app, problems, state, onClose }) {
  return (
    <div class="syncpanel" data-testid="sync-panel">
      {state.phase === 'stopped' && <p class="bad">{t(stoppedKey(state))} <a href="#/enrol">{t('sync.enrol_again')}</a></p>}
      {problems.length === 0 && <p class="muted">{t('sync.no_problems')}</p>}
      <ul class="problems">
        {problems.map((o) => (
          <li key={o.key} class={o.status === 'flagged' ? 'flagged' : 'rejected'} data-testid="sync-problem" data-code={o.code}>
            <div class="what"><strong>{t(o.status === 'flagged' ? 'sync.flagged' : 'sync.rejected')}</strong> · {describeMutation(o.name, o.args, app.view)}</div>
            <div class="reason" data-testid="sync-reason">{pick(o.message)}</div>
            <div class="advice"><span class="muted">{t('sync.what_to_do')}</span> {t(has(`advice.${o.code}`) ? `advice.${o.code}` : 'advice.default')}</div>
            <button type="button" class="small" onClick={() => dismiss(o.key)}>{t('sync.dismiss')}</button>
          </li>
        ))}
      </ul>
      {app.outbox.length > 0 && (
        <details class="queue">
          <summary>{t('sync.pending_list')} ({app.outbox.length})</summary>
          <ul>{app.outbox.map((m) => <li key={m.key}>#{m.id} {describeMutation(m.name, m.args, app.view)}</li>)}</ul>
        </details>
      )}
      <div class="row">
        <button type="button" class="primary" onClick={() => runner.kick({ force: true })} disabled={!app.online}>{t('sync.now')}</button>
        <button type="button" onClick={onClose}>{t('sync.hide')}</button>
      </div>
    </div>
  );
}

/** Why syncing stopped: an old build, an idle-expired device (outbox kept), a revoked token. */
function stoppedKey(state) {
  if (state.error?.kind === 'too_old') return 'sync.stopped_old';
  return state.error?.code === 'device_expired' ? 'sync.stopped_expired' : 'sync.stopped_auth';
}

async function dismiss(key) {
  const db = await openStore();
  const outcome = await db.get('outcomes', key);
  if (outcome) await db.put('outcomes', { ...outcome, dismissed: true });
  await refresh();
}
