// The station's phones (GET /api/v1/devices?station=): whose, which, last contact, app
// version and what it last reported unsent; sign a phone out (it sends what it holds
// first) or, lost or stolen, cut it off at once and wipe it.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n.js';
import { timeOf } from '../../ui/format.js';
import { getJson, postJson } from './api.js';
import { Console, StationPicker, Status, useSaving, useStation } from './ui.jsx';

const UNITS = { 'donation.record': 'admin.unit.donation', 'hours.check_in': 'admin.unit.hours', 'hours.check_out': 'admin.unit.hours', 'hours.manual': 'admin.unit.hours' };

/** {"donation.record": 3} -> "3 笔捐赠"; other mutations by their name. */
export function summaryText(summary) {
  const parts = [];
  const merged = {};
  for (const [name, n] of Object.entries(summary || {})) {
    const key = UNITS[name] || `mutation.${name}`;
    merged[key] = (merged[key] || 0) + n;
  }
  for (const [key, n] of Object.entries(merged)) {
    parts.push(key.startsWith('admin.unit.') ? t(key, { n }) : `${n} × ${t(key)}`);
  }
  return parts.join(t('admin.list_sep'));
}

export function stateOf(device) {
  if (device.revoked_at) return device.revoke_reason === 'lost' || device.wiped ? 'lost' : 'revoked';
  if (device.sign_out_requested_at) return 'signing_out';
  return 'active';
}

export function DevicesScreen({ app }) {
  const picked = useStation(app, 'manager');
  const [devices, setDevices] = useState(null);
  const [notice, setNotice] = useState('');
  const loading = useSaving();
  const load = () => loading.run(async () => {
    setDevices(await getJson(`/api/v1/devices?station=${encodeURIComponent(picked.code)}`));
    return '';
  });
  useEffect(() => { if (picked.code) load(); }, [picked.code]);
  const list = devices || [];
  const active = list.filter((d) => stateOf(d) !== 'lost' && stateOf(d) !== 'revoked');
  const gone = list.filter((d) => !active.includes(d));
  return (
    <Console app={app} section="devices">
      <StationPicker picked={picked} />
      <div class="row-between">
        <h2>{t('admin.devices_list', { n: active.length })}</h2>
        <button type="button" class="small" data-testid="devices-reload" disabled={loading.busy} onClick={load}>{t('admin.reload')}</button>
      </div>
      {loading.busy && !devices && <p class="muted">{t('events.loading')}</p>}
      <Status saving={loading} id="devices" />
      {notice && <p class="notice ok" role="status" data-testid="revoke-status">{notice}</p>}
      {devices && active.length === 0 && <p class="muted">{t('admin.no_devices')}</p>}
      <ul class="plain devices">{active.map((d) => <DeviceRow key={d.token_id} device={d} me={app.meta.me} onDone={async (text) => { setNotice(text); await load(); }} />)}</ul>
      {gone.length > 0 && (
        <details>
          <summary>{t('admin.devices_gone', { n: gone.length })}</summary>
          <ul class="plain devices">{gone.map((d) => <DeviceRow key={d.token_id} device={d} me={app.meta.me} onDone={load} />)}</ul>
        </details>
      )}
    </Console>
  );
}

function DeviceRow({ device, me, onDone }) {
  const [asking, setAsking] = useState(false);
  const saving = useSaving();
  const state = stateOf(device);
  const mine = device.token_id === me?.token_id;
  const revoke = (mode) => saving.run(async () => {
    await postJson(`/api/v1/devices/${encodeURIComponent(device.token_id)}/revoke`, { mode });
    setAsking(false);
    await onDone(t(mode === 'lost' ? 'admin.revoked_lost' : 'admin.revoked_sign_out', { name: device.name || device.person.name }));
    return '';
  });
  const pending = device.pending_count || 0;
  return (
    <li class={`item device st-${state}`} data-testid="admin-device" data-token={device.token_id} data-state={state}>
      <div class="grow">
        <strong>{device.person.name}</strong> · {device.name || t('admin.unnamed_device')}
        {mine && <span class="tag">{t('admin.this_phone')}</span>}
        {state !== 'active' && <span class="tag bad">{t(`admin.device.${state}`)}</span>}
        <div class="muted fine">
          {(device.roles || []).map((r) => t(`role.${r.role}`)).join('、')}
          {device.app_version && ` · ${t('admin.app_version', { v: device.app_version })}`}
          {device.created_at && ` · ${t('admin.enrolled_at', { time: timeOf(device.created_at) })}`}
        </div>
        <div class="fine" data-testid="device-summary">
          {pending > 0 ? <span class="warn-text">{t('admin.unsynced', { what: summaryText(device.pending_summary) || t('admin.unit.items', { n: pending }) })}</span> : <span>{t('admin.all_sent')}</span>}
          {t('admin.list_sep')}{device.last_seen_at ? t('admin.last_contact', { time: timeOf(device.last_seen_at) }) : t('admin.never_seen')}
        </div>
        {asking && (
          <div class="revoke-choices" data-testid="revoke-choices">
            <p><strong>{t('admin.revoke_title', { name: device.name || device.person.name })}</strong></p>
            <button type="button" class="block" data-testid="revoke-sign-out" disabled={saving.busy} onClick={() => revoke('sign_out')}>{t('admin.sign_out')}</button>
            <p class="muted fine">{t('admin.sign_out_help')}{pending > 0 && t('admin.sign_out_pending', { n: pending })}</p>
            <button type="button" class="block danger" data-testid="revoke-lost" disabled={saving.busy} onClick={() => revoke('lost')}>{t('admin.lost')}</button>
            <p class="muted fine">{t('admin.lost_help')}{pending > 0 && t('admin.lost_pending', { n: pending })}</p>
            <button type="button" class="block" onClick={() => setAsking(false)}>{t('event.cancel')}</button>
          </div>
        )}
        <Status saving={saving} id="revoke" />
      </div>
      {state === 'active' && !asking && <button type="button" class="small danger" data-testid="revoke" onClick={() => { saving.clear(); setAsking(true); }}>{t('admin.revoke')}</button>}
    </li>
  );
}
