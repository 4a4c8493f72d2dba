// Local versions of the round's mutations that a phone makes offline and must show at once:
// a need recorded at an event, a community group and its members, a resident's own ballot. Record shapes follow the server's
// (schemas/rounds.py, schemas/ballots.py); tests/test_overlay_agreement.py compares them.
// A booth ballot has none: the server keeps only a keyed hash of the resident's name and
// phone, which the phone cannot make; the booth screen reads its queued ballots from the
// outbox instead (src/areas/programme/voting.jsx).
import { priceOf, staffOfRound } from './model.js';

export const PROGRAMME_TYPES = ['round', 'need', 'community_group', 'proposal', 'proposal_version', 'review', 'ballot', 'paper_tally', 'round_result'];

function put(view, type, id, record) {
  if (!view[type]) view[type] = new Map();
  view[type].set(id, record);
}

export const PROGRAMME_OVERLAY = {
  'need.submit'(view, args, m, me) {
    const round = view.round?.get(args.round_id);
    put(view, 'need', args.id, {
      id: args.id, round_id: args.round_id, station: round?.station ?? '', category: args.category,
      community: args.community, description: args.description, public_title: '', status: 'open', merged_into: null,
      raised_count: 1,
      // a resident's own need is "public" whatever the form says (server/domain/rounds.py)
      raised_via: staffOfRound(me, round) ? (args.raised_via ?? 'staff') : 'public', attachments: args.attachments || [],
      district: round?.district ?? '', contact: args.contact ?? null,
      created_by: me?.user ?? '', created_at: m.created_at, updated_at: m.created_at, pending: true,
    });
  },
  'group.register'(view, args, m, me) {
    const station = view.station?.get(args.station);
    put(view, 'community_group', args.id, {
      id: args.id, name: args.name, station: args.station, district: station?.district ?? '',
      registration_no: args.registration_no ?? '', members: [...new Set(args.members || [])],
      created_by: me?.user ?? '', created_at: m.created_at, updated_at: m.created_at, pending: true,
    });
  },
  'group.set_members'(view, args, m) {
    const group = view.community_group?.get(args.id);
    if (!group) return;
    put(view, 'community_group', args.id, { ...group, members: [...new Set(args.members)], updated_at: m.created_at, pending: true });
  },
  'ballot.cast'(view, args, m, me) {
    const round = view.round?.get(args.round_id);
    const total = (args.proposal_ids || []).reduce((sum, id) => sum + priceOf(view.proposal?.get(id)), 0);
    put(view, 'ballot', args.id, {
      id: args.id, round_id: args.round_id, channel: 'own_phone', voter_key: `user:${me?.user ?? ''}`, booth: null,
      ballot_book_no: null, proposal_ids: args.proposal_ids, total_fen: total, cast_at: m.created_at,
      received_at: m.created_at, status: 'counted', duplicate_of: null, taken_by: null,
      station: round?.station ?? null, district: round?.district ?? null, pending: true,
    });
  },
};
