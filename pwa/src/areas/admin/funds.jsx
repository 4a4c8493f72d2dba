// Funds and projects: the federation (admin, district managers) opens funds and adds
// seed money; they and the fund's station managers open projects. Balances come from the
// fund records (the server's ledger), with pending seed money shown at once.
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { newId } from '../../sync/ids.js';
import { parseYuan, yuan } from '../donations/model.js';
import { districtNames, isAdmin, membershipsOf, rankAt } from './scope.js';
import { Console, Invalid, Pending, SaveForm, required, savedText } from './ui.jsx';

/** holds_fund (server/domain/funds.py): admin, or a district manager of the fund's district. */
export function holdsFund(me, fund) {
  return isAdmin(me) || membershipsOf(me).some((m) => m.role === 'district_manager' && fund.district && m.district === fund.district);
}

function mayAddProject(me, fund, view) {
  if (holdsFund(me, fund)) return true;
  const station = fund.station && view.station.get(fund.station);
  return !!station && rankAt(me, station.code, station.district) >= 2;
}

export function FundsAdmin({ app }) {
  const me = app.meta.me;
  const view = app.view;
  const funds = [...(view.fund?.values() || [])].sort((a, b) => (a.name < b.name ? -1 : 1));
  const projects = [...(view.project?.values() || [])];
  const admin = isAdmin(me);
  const openIn = admin ? districtNames(view) : membershipsOf(me).filter((m) => m.role === 'district_manager').map((m) => m.district);
  const seedable = funds.filter((f) => holdsFund(me, f));
  const projectable = funds.filter((f) => mayAddProject(me, f, view));
  const stations = [...view.station.values()].filter((s) => admin || openIn.includes(s.district));

  async function createFund({ name, district, station, purpose }) {
    const cleanName = required(name, t('admin.fund_name'));
    const s = station && view.station.get(station);
    const d = district || s?.district || null;
    if (!admin && !d) throw new Invalid(t('form.required', { field: t('admin.district') }));
    if (s && d && s.district !== d) throw new Invalid(t('admin.station_not_in_district'));
    await act('fund.create', { id: newId(), name: cleanName, district: d, ...(station ? { station } : {}), purpose: purpose || '' });
    return savedText(cleanName);
  }
  async function seed({ fund_id, amount, note }) {
    const fen = parseYuan(amount);
    if (!fen) throw new Invalid(t('admin.bad_amount'));
    const fund = view.fund.get(fund_id);
    if (!fund) throw new Invalid(t('form.required', { field: t('admin.fund') }));
    await act('fund.seed', { id: newId(), fund_id, amount_fen: fen, note: note || '' });
    return savedText(`${fund.name} +¥${yuan(fen)}`);
  }
  async function createProject({ fund_id, name, description }) {
    const cleanName = required(name, t('admin.project_name'));
    if (!view.fund.get(fund_id)) throw new Invalid(t('form.required', { field: t('admin.fund') }));
    await act('project.create', { id: newId(), fund_id, name: cleanName, description: description || '' });
    return savedText(cleanName);
  }
  return (
    <Console app={app} section="funds">
      <div class="console-cols">
        <section>
          <h2>{t('admin.funds_list', { n: funds.length })}</h2>
          {funds.length === 0 && <p class="muted">{t('admin.none')}</p>}
          <ul class="plain">
            {funds.map((f) => (
              <li key={f.id} class="item fund-row" data-testid="admin-fund" data-balance={f.balance_fen}>
                <div class="grow">
                  <strong>{f.name}</strong> <Pending record={f} />
                  <div class="muted fine">{[f.district || t('admin.city'), f.station].filter(Boolean).join(' · ')}{f.purpose && ` · ${f.purpose}`}</div>
                  {projects.filter((p) => p.fund_id === f.id).map((p) => (
                    <div key={p.id} class="fine" data-testid="admin-project">▸ {p.name} <Pending record={p} /></div>
                  ))}
                </div>
                <div class="amount">¥{yuan(f.balance_fen)}</div>
              </li>
            ))}
          </ul>
        </section>
        <section>
          {(admin || openIn.length > 0) && (
            <SaveForm id="fund-form" title={t('admin.new_fund')} submit={t('admin.create')} onSave={createFund} folded>
              <label>{t('admin.fund_name')}<input name="name" maxLength={100} /></label>
              <label>{t('admin.district')}
                <select name="district">
                  {admin && <option value="">{t('admin.city')}</option>}
                  {openIn.map((d) => <option key={d} value={d}>{d}</option>)}
                </select>
              </label>
              <label>{t('admin.fund_station')}
                <select name="station">
                  <option value="">—</option>
                  {stations.map((s) => <option key={s.code} value={s.code}>{s.name} ({s.district})</option>)}
                </select>
              </label>
              <label>{t('admin.purpose')}<input name="purpose" maxLength={500} /></label>
            </SaveForm>
          )}
          {seedable.length > 0 && (
            <SaveForm id="seed-form" title={t('admin.seed')} submit={t('admin.seed_submit')} onSave={seed} folded>
              <label>{t('admin.fund')}
                <select name="fund_id">{seedable.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}</select>
              </label>
              <label>{t('admin.amount_yuan')}<input name="amount" inputmode="decimal" class="amount" placeholder="0.00" /></label>
              <label>{t('admin.note')}<input name="note" maxLength={500} /></label>
            </SaveForm>
          )}
          {projectable.length > 0 && (
            <SaveForm id="project-form" title={t('admin.new_project')} submit={t('admin.create')} onSave={createProject} folded>
              <label>{t('admin.fund')}
                <select name="fund_id">{projectable.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}</select>
              </label>
              <label>{t('admin.project_name')}<input name="name" maxLength={100} /></label>
              <label>{t('admin.description')}<input name="description" maxLength={500} /></label>
            </SaveForm>
          )}
          <p class="muted fine">{t('admin.funds_more')} <a href="#/funds">{t('admin.funds_link')}</a></p>
        </section>
      </div>
    </Console>
  );
}
