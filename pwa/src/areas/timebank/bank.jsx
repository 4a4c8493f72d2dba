// The volunteer's Time Bank: balance, my redemptions with their outcome (a request held
// for review says why), the station's catalogue with redeem, the ledger history, and the
// service certificate PDF (fetched with the device token, then saved from a blob).
import { newId } from '../../sync/ids.js';
import { useState } from 'preact/hooks';
import { pick, t } from '../../i18n.js';
import { getMeta } from '../../sync/store.js';
import { send } from '../../sync/transport.js';
import { act } from '../../state.js';
import { accountIdOf } from './overlay.js';
import { credits } from './common.js';
import { timeOf } from '../../ui/format.js';
import { AttachmentList } from '../../ui/photos.jsx';

export function TimeBank({ app }) {
  const me = app.meta.me || {};
  const view = app.view;
  const account = view.timebank_account.get(accountIdOf(me.user));
  const profile = view.volunteer.get(me.user);
  const balance = account?.balance_cents ?? 0;
  const [refused, setRefused] = useState(null); // {id, text}: a redemption the fresh balance cannot cover
  const items = [...view.redemption_item.values()].filter((i) => i.active).sort((a, b) => a.cost_cents - b.cost_cents);
  const mine = [...view.redemption.values()].filter((r) => r.volunteer_id === me.user)
    .sort((a, b) => (a.requested_at < b.requested_at ? 1 : -1));
  const entries = [...view.timebank_entry.values()].filter((e) => e.account_id === accountIdOf(me.user))
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  if (!profile && !account) return <main class="screen"><h1>{t('bank.title')}</h1><p class="notice">{t('bank.not_volunteer')}</p><a class="button" href="#/hours">{t('event.back')}</a></main>;
  const fresh = balanceIsFresh(app, account);
  async function redeem(item) {
    // A balance pulled a moment ago with nothing of ours queued is what the server will see:
    // say so now instead of queueing a request it can only hold for review. Offline (or
    // stale) the request goes as before, and the server decides.
    if (fresh && balance < item.cost_cents) {
      setRefused({ id: item.id, text: t('bank.cannot_afford', { balance: credits(balance), cost: credits(item.cost_cents) }) });
      return;
    }
    setRefused(null);
    if (!confirm(t('bank.redeem_confirm', { cost: credits(item.cost_cents), title: item.title }))) return;
    await act('redemption.request', { id: newId(), item_id: item.id });
  }
  return (
    <main class="screen timebank">
      <a class="back" href="#/hours">‹ {t('event.back')}</a>
      <h1>{t('bank.title')}</h1>
      <section class="balance">
        <div class="muted">{t('bank.balance')}</div>
        <div class="big-number" data-testid="balance" data-cents={balance}>{credits(balance)}</div>
        {account?.pending && <div class="muted fine">{t('bank.pending_note')}</div>}
      </section>
      <h2>{t('bank.mine')}</h2>
      {mine.length === 0 && <p class="muted">—</p>}
      <ul class="plain">{mine.map((r) => <MyRedemption key={r.id} redemption={r} app={app} />)}</ul>
      <h2>{t('bank.catalogue')}</h2>
      {items.length === 0 && <p class="muted">{t('bank.none_items')}</p>}
      <ul class="plain">
        {items.map((item) => (
          <li key={item.id} class="item" data-testid="catalogue-item">
            <div class="grow">
              <strong>{item.title}</strong>
              <div class="muted fine">{t('bank.credits', { n: credits(item.cost_cents) })}{item.stock !== null && ` · ${t('bank.stock', { n: item.stock })}`}</div>
              {item.description && <div class="muted fine">{item.description}</div>}
              <AttachmentList app={app} refs={item.attachments} testid="catalogue-picture" />
            </div>
            <button type="button" class={balance >= item.cost_cents ? 'primary' : ''} data-testid="redeem" onClick={() => redeem(item)}
              title={balance < item.cost_cents ? t('bank.not_enough') : ''}>{t('bank.redeem')}</button>
            {refused?.id === item.id && <p class="reason full" role="alert" data-testid="redeem-refused">{refused.text}</p>}
          </li>
        ))}
      </ul>
      <h2>{t('bank.history')}</h2>
      {entries.length === 0 && <p class="muted">{t('bank.none_history')}</p>}
      <ul class="plain ledger">
        {entries.map((e) => (
          <li key={e.id} data-testid="ledger-entry">
            <span>{t(`ledger.${e.kind}`)}{e.memo && <span class="muted"> · {entryMemo(e)}</span>}<br /><span class="muted fine">{timeOf(e.created_at)}</span></span>
            <span class={e.amount_cents < 0 ? 'bad amount' : 'ok amount'}>{e.amount_cents > 0 ? '+' : ''}{credits(e.amount_cents)}</span>
          </li>
        ))}
      </ul>
      <Certificate app={app} />
    </main>
  );
}

/** How recent a pull must be for the phone to trust its balance before a redemption. */
export const FRESH_BALANCE_MS = 2 * 60 * 1000;
const MOVES_BALANCE = /^(redemption|hours)\./;

/** The balance shown is the server's: online, pulled within FRESH_BALANCE_MS, and nothing
 *  queued on this phone that moves it (a redemption, a withdrawal, hours). */
export function balanceIsFresh(app, account, now = Date.now()) {
  const last = Date.parse(app.meta.last_sync_at || '');
  if (!app.online || Number.isNaN(last) || now - last > FRESH_BALANCE_MS || account?.pending) return false;
  return !app.outbox.some((row) => MOVES_BALANCE.test(row.name));
}

function entryMemo(entry) {
  return entry.kind === 'hours_credit' ? t(`service.${entry.memo}`) : entry.memo;
}

function MyRedemption({ redemption: r, app }) {
  const item = app.view.redemption_item.get(r.item_id);
  const outcome = app.outcomes.find((o) => o.name === 'redemption.request' && o.args?.id === r.id);
  const status = r.status === 'declined' && !r.debited ? 'declined_undebited' : r.status;
  return (
    <li class={`log status-${r.status}`} data-testid="my-redemption" data-status={r.status}>
      <div class="log-head">
        <strong>{item?.title || r.item_id.slice(0, 8)}</strong>
        <span class={`tag st-${r.status}`} data-testid="redemption-status">{t(`redemption.${status}`)}</span>
      </div>
      <div class="muted fine">{t('bank.credits', { n: credits(r.cost_cents) })} · {timeOf(r.requested_at)}{r.pending && ` · ${t('events.pending')}`}</div>
      {r.review_reason && r.status === 'needs_review' && <div class="reason" data-testid="redemption-reason">{t(`redemption.reason.${r.review_reason}`)}{outcome && <div class="muted fine">{pick(outcome.message)}</div>}</div>}
      {r.decline_reason && <div class="reason">{t('hours.reason', { reason: r.decline_reason })}</div>}
      {['requested', 'needs_review'].includes(r.status) && !r.pending && (
        <button type="button" class="small" data-testid="withdraw" onClick={() => act('redemption.decline', { id: r.id, reason: t('bank.withdraw_reason') })}>{t('bank.withdraw')}</button>
      )}
    </li>
  );
}

/** GET the PDF with the device token (a plain link cannot send it) and save the blob. */
export async function downloadCertificate(userId, from, to) {
  const token = await getMeta('token');
  const query = new URLSearchParams();
  if (from) query.set('from', from);
  if (to) query.set('to', to);
  const response = await send(`/api/v1/timebank/volunteers/${encodeURIComponent(userId)}/certificate?${query}`, {
    headers: { Authorization: `Bearer ${token}` }, cache: 'no-store',
  });
  if (response.status !== 200) {
    const body = await response.json().catch(() => null);
    throw new Error(body ? pick(body.message) || body.code : `HTTP ${response.status}`);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `volunteer-certificate-${userId}.pdf`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return blob;
}

function Certificate({ app }) {
  const me = app.meta.me;
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [message, setMessage] = useState('');
  async function download(e) {
    e.preventDefault();
    if (!app.online) return setMessage(t('bank.download_offline'));
    setMessage(t('bank.downloading'));
    try {
      await downloadCertificate(me.user, from, to);
      setMessage('');
    } catch (err) {
      setMessage(t('bank.download_failed', { msg: err.message }));
    }
  }
  return (
    <form onSubmit={download} class="certificate" data-testid="certificate-form">
      <h2>{t('bank.certificate')}</h2>
      <div class="row">
        <label>{t('hours.from')}<input name="from" type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} /></label>
        <label>{t('hours.to')}<input name="to" type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} /></label>
      </div>
      <button type="submit" class="block" data-testid="download-certificate">{t('bank.download')}</button>
      {message && <p class="notice" role="status" data-testid="certificate-message">{message}</p>}
    </form>
  );
}
