// The inbox: the notification records this user pulled (the truth; a push only wakes the
// phone). Unread first; a tap marks it read and opens the screen it is about.
import { pick, t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { go } from '../../router.js';
import { act } from '../../state.js';
import { timeOf } from '../../ui/format.js';
import { usePushStatus } from './push_settings.jsx';

const newestFirst = (a, b) => (a.created_at < b.created_at ? 1 : -1);

export function unreadCount(app) {
  let n = 0;
  for (const note of app.view.notification?.values() ?? []) if (!note.read_at && !note.resolved_at) n++;
  return n;
}

/** Where a notification's url leads inside the app (its hash route). */
export function routeOf(url) {
  return typeof url === 'string' && url.startsWith('/#/') ? url.slice(2) : '/inbox';
}

export function Inbox({ app }) {
  const me = app.meta.me;
  const [push] = usePushStatus();
  const notes = [...(app.view.notification?.values() ?? [])].sort(newestFirst);
  // What it asked about was settled (approved, paid, resolved): folded away under "done".
  const done = notes.filter((n) => n.resolved_at);
  const unread = notes.filter((n) => !n.read_at && !n.resolved_at);
  const read = notes.filter((n) => n.read_at && !n.resolved_at);
  const manager = atLeast(me, 'manager');

  function markAll() {
    // Up to the newest this phone has seen: one that arrives meanwhile stays unread.
    act('notification.mark_all_read', { up_to: unread[0].created_at });
  }

  return (
    <main class="screen inbox">
      <div class="heading">
        <h1>{t('inbox.title')}</h1>
        {manager && <a class="button small" href="#/inbox/prefs" data-testid="inbox-prefs">{t('inbox.prefs')}</a>}
      </div>
      {manager && (push === 'off' || push === 'denied') && (
        <p class="notice" data-testid="inbox-push-off">{t('inbox.push_off')} <a href="#/inbox/prefs">{t('inbox.push_on')}</a></p>
      )}
      {notes.length === 0 && <p class="muted" data-testid="inbox-empty">{t('inbox.none')}{manager ? '' : ` ${t('inbox.none_staff')}`}</p>}
      {unread.length > 0 && (
        <>
          <div class="heading">
            <h2>{t('inbox.unread', { n: unread.length })}</h2>
            <button type="button" class="small" onClick={markAll} data-testid="inbox-mark-all">{t('inbox.mark_all')}</button>
          </div>
          <ul class="plain">{unread.map((n) => <Note key={n.id} note={n} />)}</ul>
        </>
      )}
      {read.length > 0 && (
        <>
          <h2>{t('inbox.read', { n: read.length })}</h2>
          <ul class="plain">{read.map((n) => <Note key={n.id} note={n} />)}</ul>
        </>
      )}
      {done.length > 0 && (
        <details class="history" data-testid="inbox-done">
          <summary>{t('inbox.done', { n: done.length })}</summary>
          <ul class="plain">{done.map((n) => <Note key={n.id} note={n} />)}</ul>
        </details>
      )}
    </main>
  );
}

function Note({ note }) {
  const unread = !note.read_at && !note.resolved_at;
  function open() {
    if (unread) act('notification.mark_read', { ids: [note.id], read: true });
    go(routeOf(note.url));
  }
  return (
    <li class={`note ${unread ? 'unread' : 'read'}`} data-testid="inbox-item" data-id={note.id} data-unread={unread ? '1' : '0'}>
      <button type="button" class="open" onClick={open}>
        <span class="kind">{unread && <span class="dot on" aria-label="未读 unread" />}{t(`kind.${note.kind}`)} · {timeOf(note.created_at)}{note.pending ? ` · ${t('events.pending')}` : ''}{note.resolved_at ? ` · ${t('inbox.done_tag')}` : ''}</span>
        <span class="title">{pick(note.title)}</span>
        <span class="body">{pick(note.body)}</span>
      </button>
      {!note.resolved_at && (
        <button type="button" class="small toggle" data-testid="inbox-toggle"
          onClick={() => act('notification.mark_read', { ids: [note.id], read: unread })}>
          {t(unread ? 'inbox.mark_read' : 'inbox.mark_unread')}
        </button>
      )}
    </li>
  );
}
