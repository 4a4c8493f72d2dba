// Local versions of the donation mutations (spread into OVERLAY in src/sync/local.js): what
// the server will write, shown at once and after a reload while the mutation waits in the
// outbox, marked `pending`. The server's answer replaces them once pulled.
import { approvalThresholdFen, currentOf } from './model.js';
import { defaultCampaign, shanghaiDay } from './campaigns.js';

function correctionsOf(view, donationId) {
  return [...view.donation_correction.values()].filter((c) => c.donation_id === donationId);
}

function setReceipt(view, number, patch) {
  const receipt = number && view.receipt.get(number);
  if (receipt) view.receipt.set(number, { ...receipt, ...patch, pending: true });
}

/** The fund an undirected gift goes to, as the server chooses it (funds.default_fund): the
 *  station's community fund, else its district's general fund, else the city's; oldest first. */
export function defaultFund(view, station) {
  const rank = (f) => (f.station === station?.code ? 0 : !f.station && f.district === station?.district ? 1 : !f.station && !f.district ? 2 : 3);
  const best = [...view.fund.values()]
    .filter((f) => f.station === station?.code || f.district === station?.district || !f.district)
    .sort((a, b) => rank(a) - rank(b) || (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0) || (a.id < b.id ? -1 : 1))[0];
  return best && (best.station === station?.code || !best.station) ? best.id : null;
}

export const DONATION_OVERLAY = {
  'donation.record'(view, args, m, me) {
    const donor = args.donor || {};
    const anonymous = !!donor.anonymous;
    const amount = args.kind === 'goods'
      ? (args.items || []).reduce((sum, item) => sum + (Number(item.estimated_value_fen) || 0), 0)
      : args.amount_fen;
    const station = view.station.get(args.station);
    const direction = args.direction || 'undirected';
    const fundId = direction === 'project' ? view.project.get(args.project_id)?.fund_id ?? null
      : direction === 'fund' ? args.fund_id ?? null : defaultFund(view, station);
    view.donation.set(args.id, {
      id: args.id, kind: args.kind, amount_fen: amount, method: args.method ?? null, items: args.items || [],
      donor_anonymous: anonymous, donor_name: anonymous ? null : donor.name ?? null,
      donor_phone: anonymous ? null : donor.phone ?? null,
      donor_organisation: anonymous ? null : donor.organisation ?? null,
      wants_receipt: donor.wants_receipt !== false, public_name_consent: !!donor.public_name_consent && !anonymous,
      direction, fund_id: fundId, project_id: args.project_id ?? null,
      station: args.station, district: station?.district ?? '', event_id: args.event_id ?? null,
      recorded_by: me?.user ?? '', client_id: '', device_time: m.created_at, recorded_at: m.created_at,
      receipt_number: args.receipt?.number ?? null, note: args.note ?? '', pending: true,
      campaign: args.campaign ?? defaultCampaign(view, station, args.event_id ? view.event.get(args.event_id) : null,
        fundId, args.project_id ?? null, shanghaiDay(new Date(m.created_at))),
    });
    if (args.receipt) {
      view.receipt.set(args.receipt.number, {
        number: args.receipt.number, donation_id: args.id, code: args.receipt.code, status: 'issued',
        official_number: null, reprints: 0, replaced_by: null, replaces: null, station: args.station,
        issued_by: me?.user ?? '', issued_at: m.created_at, updated_at: m.created_at, history: [], pending: true,
      });
    }
  },
  'donation.correct'(view, args, m, me) {
    const donation = view.donation.get(args.donation_id);
    if (!donation) return;
    const now = currentOf(donation, correctionsOf(view, args.donation_id));
    const delta = args.action === 'void' ? -now.amount : (args.new_amount_fen ?? now.amount) - now.amount;
    const status = Math.abs(delta) > approvalThresholdFen() ? 'pending' : 'applied';
    view.donation_correction.set(args.id, {
      id: args.id, donation_id: args.donation_id, action: args.action, new_amount_fen: args.new_amount_fen ?? null,
      delta_fen: delta, reason: args.reason, category: args.category ?? 'other', status, requested_by: me?.user ?? '', requested_at: m.created_at,
      decided_by: null, decided_at: null, decision_note: '', station: donation.station, pending: true,
    });
    if (status === 'applied' && args.action === 'void') setReceipt(view, donation.receipt_number, { status: 'withdrawn' });
  },
  'correction.decide'(view, args, m, me) {
    const c = view.donation_correction.get(args.id);
    if (!c || c.status !== 'pending') return;
    const applied = args.decision === 'approve';
    view.donation_correction.set(args.id, {
      ...c, status: applied ? 'applied' : 'rejected', decided_by: me?.user ?? '', decided_at: m.created_at,
      decision_note: args.note ?? '', pending: true,
    });
    const donation = view.donation.get(c.donation_id);
    if (applied && c.action === 'void' && donation) setReceipt(view, donation.receipt_number, { status: 'withdrawn' });
  },
  'receipt.reprint'(view, args) {
    const receipt = view.receipt.get(args.number);
    if (receipt) setReceipt(view, args.number, { reprints: (receipt.reprints || 0) + 1 });
  },
  'disbursement.request'(view, args, m, me) {
    const fund = view.fund.get(args.fund_id);
    view.disbursement.set(args.id, {
      id: args.id, fund_id: args.fund_id, project_id: args.project_id, amount_fen: args.amount_fen, payee: args.payee,
      purpose: args.purpose ?? '', category: args.category ?? 'project', payee_kind: args.payee_kind ?? 'person',
      payee_public: args.payee_public ?? false, status: 'requested', requested_by: me?.user ?? '', requested_at: m.created_at,
      decided_by: null, decided_at: null, decision_note: '', paid_by: null, paid_at: null, reference: null,
      station: fund?.station ?? null, district: fund?.district ?? null, pending: true,
    });
  },
  'disbursement.decide'(view, args, m, me) {
    const d = view.disbursement.get(args.id);
    if (d?.status === 'requested') view.disbursement.set(args.id, { ...d, status: args.decision === 'approve' ? 'approved' : 'rejected', decided_by: me?.user ?? '', decided_at: m.created_at, decision_note: args.note ?? '', pending: true });
  },
  'disbursement.pay'(view, args, m, me) {
    const d = view.disbursement.get(args.id);
    if (d?.status === 'approved') view.disbursement.set(args.id, { ...d, status: 'paid', paid_by: me?.user ?? '', paid_at: m.created_at, reference: args.reference, pending: true });
  },
  'receipt.withdraw'(view, args) {
    setReceipt(view, args.number, { status: 'withdrawn' });
  },
};

/** Record types of this area (pulled by staff and managers of the station). */
export const DONATION_TYPES = ['receipt_series', 'donation', 'receipt', 'donation_correction', 'fund', 'project', 'disbursement', 'campaign', 'matching_rule', 'gift_match'];
