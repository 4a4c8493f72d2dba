// Staff at an event: choose station and event, the event's totals, two big buttons to
// record money or goods, and today's donations. Everything comes from the local replica
// plus the outbox, so it works offline.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { atLeast } from '../../roles.js';
import { correctionsByDonation, currentOf, donorLabel, madeAt, sameLocalDay, totalsOf, yuan } from './model.js';
import { serverNow, timeOf, todayIso } from '../../ui/format.js';

const STATION_KEY = 'charity.donation_station';
const EVENT_KEY = 'charity.donation_event';
const SHOWN = 30;
/** A gift card's height in px on a 360 px phone, before it is measured. */
const CARD_HEIGHT = 98;

// The windowed list (src/ui/windowlist.jsx) is a lazy chunk: fetched once a list is longer
// than SHOWN, so it is there by the time "show all" is tapped, and the first load stays small.
let WindowList = null;
let loadingList = null;
function useWindowList(wanted) {
  // a component is a function: held as the value a function returns, not called as an updater
  const [loaded, setLoaded] = useState(() => WindowList);
  useEffect(() => {
    if (!wanted || loaded) return;
    loadingList ||= import('../../ui/windowlist.jsx').then((m) => { WindowList = m.default; return WindowList; });
    loadingList.then((component) => setLoaded(() => component), () => { loadingList = null; });
  }, [wanted, loaded]);
  return loaded;
}

/** The station and event the staff member records for (remembered on this phone). */
export function useSelection(app) {
  const me = app.meta.me;
  const [station, setStationState] = useState(() => me?.station || localStorage.getItem(STATION_KEY) || '');
  const [eventId, setEventState] = useState(() => localStorage.getItem(EVENT_KEY) || '');
  const code = me?.station || station || [...app.view.station.keys()][0] || '';
  const events = [...app.view.event.values()].filter((e) => e.station === code);
  // the day by the server's clock as last measured: a phone a day behind still opens today's event
  const today = todayIso(serverNow(app.meta));
  events.sort((a, b) => (Math.abs(daysFrom(a.date, today)) - Math.abs(daysFrom(b.date, today))) || a.title.localeCompare(b.title));
  let event = events.find((e) => e.id === eventId) || null;
  if (!event && eventId !== 'none') event = events.find((e) => e.date === today) || null;
  return {
    station: code, events, event,
    setStation(value) { localStorage.setItem(STATION_KEY, value); setStationState(value); },
    setEvent(value) { localStorage.setItem(EVENT_KEY, value); setEventState(value); },
  };
}

function daysFrom(date, today) {
  return (Date.parse(date) - Date.parse(today)) / 86400000 || 0;
}

export function DonationHome({ app }) {
  const me = app.meta.me;
  const pick = useSelection(app);
  const [all, setAll] = useState(false);
  const index = useMemo(() => correctionsByDonation(app.view), [app.view.donation_correction]);
  const day = serverNow(app.meta).toDateString();
  // The list follows the event when one is chosen (its gifts, whatever clock stamped them),
  // else the day by the server's clock: never the phone's own date, which may be wrong.
  const { today } = useMemo(() => {
    const atEvent = [];
    const today = [];
    for (const d of app.view.donation.values()) {
      if (d.station !== pick.station) continue;
      if (pick.event && d.event_id === pick.event.id) atEvent.push(d);
      if (!pick.event && sameLocalDay(madeAt(d), new Date(day))) today.push(d);
    }
    const newest = (a, b) => (madeAt(a) < madeAt(b) ? 1 : -1);
    atEvent.sort(newest);
    today.sort(newest);
    return { atEvent, today: pick.event ? atEvent : today };
  }, [app.view.donation, pick.station, pick.event?.id, day]);
  const totals = totalsOf(today, index);
  let waiting = 0;
  for (const c of app.view.donation_correction.values()) if (c.status === 'pending') waiting++;
  const stations = [...app.view.station.values()];
  const List = useWindowList(today.length > SHOWN);
  // every gift once "show all" was tapped, but only those on screen are rendered
  const windowed = all && List;
  const query = pick.event ? `?event=${pick.event.id}` : '';
  return (
    <main class="screen donations">
      <h1>{t('nav.donations')}</h1>
      {!me?.station && stations.length > 1 && (
        <label>{t('don.station')}
          <select value={pick.station} onChange={(e) => pick.setStation(e.currentTarget.value)} data-testid="don-station">
            {stations.map((s) => <option key={s.code} value={s.code}>{s.name} ({s.code})</option>)}
          </select>
        </label>
      )}
      <label class="compact">{t('don.event')}
        <select value={pick.event?.id || 'none'} onChange={(e) => pick.setEvent(e.currentTarget.value)} data-testid="don-event">
          <option value="none">{t('don.no_event')}</option>
          {pick.events.map((e) => <option key={e.id} value={e.id}>{e.date.slice(5)} {e.title}</option>)}
        </select>
      </label>
      <section class="totals" data-testid="don-totals">
        <div class="label">{t(pick.event ? 'don.totals' : 'don.totals_station')}</div>
        <div class="figures">
          <div><span class="muted">{t('don.money')}</span><strong data-testid="total-money">¥{yuan(totals.money)}</strong></div>
          <div><span class="muted">{t('don.goods')}</span><strong data-testid="total-goods">¥{yuan(totals.goods)}</strong></div>
          <div><span class="muted">&nbsp;</span><strong data-testid="total-count">{t('don.count', { n: totals.count })}</strong></div>
        </div>
        {totals.voided > 0 && <div class="muted small-note">{t('don.voided_count', { n: totals.voided })}</div>}
      </section>
      <div class="row big-actions">
        <a class="button primary" href={`#/donations/new/money${query}`} data-testid="new-money">{t('don.new_money')}</a>
        <a class="button primary" href={`#/donations/new/goods${query}`} data-testid="new-goods">{t('don.new_goods')}</a>
      </div>
      {atLeast(me, 'manager') && (
        <a class="button block" href="#/funds" data-testid="funds-link">{t('don.funds_link')}
          {waiting > 0 && <span class="tag waiting">{t('don.waiting_count', { n: waiting })}</span>} ›</a>
      )}
      <a class="button block" href="#/projects" data-testid="projects-link">{t('sp.link')} ›</a>
      <h2 data-testid="don-list-title">{t(pick.event ? 'don.at_event' : 'don.today', { n: today.length })}</h2>
      {today.length === 0 && <p class="muted">{t(pick.event ? 'don.none_at_event' : 'don.none_today')}</p>}
      {windowed ? (
        <List items={today} keyOf={(d) => d.id} estimate={CARD_HEIGHT} className="cards" testid="don-list"
          render={(d) => <DonationCard donation={d} corrections={index.get(d.id)} />} />
      ) : (
        <ul class="cards" data-testid="don-list" data-total={today.length}>
          {today.slice(0, SHOWN).map((d) => <li key={d.id}><DonationCard donation={d} corrections={index.get(d.id)} /></li>)}
        </ul>
      )}
      {!windowed && today.length > SHOWN && (
        <button type="button" class="block" onClick={() => setAll(true)} disabled={all} data-testid="don-show-all">
          {t('don.more', { n: today.length - SHOWN })}</button>
      )}
    </main>
  );
}

function DonationCard({ donation: d, corrections }) {
  const now = currentOf(d, corrections);
  return (
    <a class={`card donation${now.voided ? ' voided' : ''}`} href={`#/donations/d/${d.id}`} data-testid="donation-card" data-id={d.id}>
      <span class="date">{timeOf(madeAt(d))} · {t(d.kind === 'goods' ? 'don.goods' : `method.${d.method}`)}</span>
      <span class="title">¥{yuan(now.voided ? d.amount_fen : now.amount)} <span class="donor">{donorLabel(d, t('donor.anonymous'))}</span></span>
      <span class="muted mono">{d.receipt_number || t('don.no_receipt')}</span>
      <span class="tag-col">
        {d.pending && <span class="tag pending">{t('events.pending')}</span>}
        {now.voided && <span class="tag void">{t('don.void')}</span>}
        {now.pending && <span class="tag waiting">{t('corr.status.pending')}</span>}
      </span>
    </a>
  );
}
