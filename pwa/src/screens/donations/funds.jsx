// Managers: corrections waiting for a second person (approve / refuse; the requester and
// the recorder cannot decide their own), fund balances from the fund records (balance,
// approved-but-unpaid, available), and the disbursement requests this phone can see.
import { t } from '../../i18n.js';
import { act } from '../../state.js';
import { correctionsByDonation, currentOf, donorLabel, yuan } from '../../donations/model.js';
import { CorrectionLine } from './detail.jsx';

export function FundsScreen({ app }) {
  const me = app.meta.me;
  const waiting = [...app.view.donation_correction.values()]
    .filter((c) => c.status === 'pending')
    .sort((a, b) => (a.requested_at < b.requested_at ? -1 : 1));
  // Public records: every fund reaches every phone; the manager's own come first.
  const near = (f) => (f.station && f.station === me?.station ? 0 : f.district && f.district === me?.district ? 1 : 2);
  const funds = [...app.view.fund.values()].sort((a, b) => near(a) - near(b) || (a.district || '').localeCompare(b.district || '') || a.name.localeCompare(b.name));
  const projectCount = new Map();
  for (const p of app.view.project.values()) projectCount.set(p.fund_id, (projectCount.get(p.fund_id) || 0) + 1);
  const disbursements = [...app.view.disbursement.values()].filter((d) => d.status !== 'paid').sort((a, b) => (a.requested_at < b.requested_at ? 1 : -1));
  const index = waiting.length ? correctionsByDonation(app.view) : null;
  return (
    <main class="screen funds">
      <h1>{t('funds.title')}</h1>
      <h2>{t('funds.corrections', { n: waiting.length })}</h2>
      {waiting.length === 0 && <p class="muted">{t('funds.no_corrections')}</p>}
      <ul class="plain">
        {waiting.map((c) => {
          const donation = app.view.donation.get(c.donation_id);
          const own = me && (c.requested_by === me.user || donation?.recorded_by === me.user);
          const now = donation ? currentOf(donation, index.get(donation.id)) : null;
          return (
            <li key={c.id} class="approval" data-testid="approval" data-id={c.id}>
              {donation && <a href={`#/donations/d/${donation.id}`}>¥{yuan(now.amount)} · {donorLabel(donation, t('donor.anonymous'))} · <span class="mono">{donation.receipt_number || ''}</span></a>}
              <ul class="plain"><CorrectionLine c={c} /></ul>
              {own ? <p class="muted">{t('funds.own')}</p> : (
                <div class="row">
                  <button type="button" class="danger" onClick={() => act('correction.decide', { id: c.id, decision: 'reject', note: '' })} data-testid="refuse-correction">{t('funds.refuse')}</button>
                  <button type="button" class="primary" onClick={() => act('correction.decide', { id: c.id, decision: 'approve', note: '' })} data-testid="approve-correction">{t('funds.approve')}</button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
      <h2>{t('funds.balances')}</h2>
      {funds.length === 0 && <p class="muted">{t('funds.none')}</p>}
      <ul class="plain">
        {funds.map((fund) => (
          <li key={fund.id} class="fund" data-testid="fund" data-id={fund.id}>
            <div class="fund-name"><strong>{fund.name}</strong> <span class="muted">{fund.district || t('funds.city')}{fund.station ? ` · ${fund.station}` : ''}</span></div>
            <div class="balance"><span class="muted">{t('funds.balance')}</span> <strong data-testid="fund-balance">¥{yuan(fund.balance_fen)}</strong></div>
            <div class="muted">{t('funds.reserved')} ¥{yuan(fund.reserved_fen)} · {t('funds.available')} <strong data-testid="fund-available">¥{yuan(fund.balance_fen - fund.reserved_fen)}</strong></div>
            {projectCount.get(fund.id) > 0 && <div class="muted small-note">{t('funds.projects', { n: projectCount.get(fund.id) })}</div>}
          </li>
        ))}
      </ul>
      {disbursements.length > 0 && (
        <>
          <h2>{t('funds.disbursements', { n: disbursements.length })}</h2>
          <ul class="plain">
            {disbursements.map((d) => (
              <li key={d.id} class="fund" data-testid="disbursement">
                <div><strong>¥{yuan(d.amount_fen)}</strong> · {d.payee} · <span class="tag waiting">{t(`disb.status.${d.status}`)}</span></div>
                <div class="muted">{app.view.fund.get(d.fund_id)?.name || ''} · {app.view.project.get(d.project_id)?.name || ''} · {d.requested_by}</div>
              </li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
}
