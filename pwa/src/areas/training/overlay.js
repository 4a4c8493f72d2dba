// Local versions of the training mutations (docs/training.md), applied on top of the
// replica while they wait in the outbox: a sign-up, a withdrawal or a scan at the door
// made offline shows at once. The server decides; its answer replaces all of this.
import { codeClaims } from '../timebank/overlay.js';

export const TRAINING_TYPES = ['training', 'training_signup', 'training_feedback'];

const ACTIVE = ['confirmed', 'waitlisted', 'attended'];

/** The server's time form: UTC with milliseconds and `Z`. */
export function normalTime(value) {
  return new Date(value).toISOString();
}

/** The person's sign-up that is not cancelled, if this phone sees it. */
export function activeSignup(view, trainingId, user) {
  for (const s of view.training_signup.values()) {
    if (s.training_id === trainingId && s.user === user && ACTIVE.includes(s.status)) return s;
  }
  return null;
}

/** The waiting list as this phone sees it, in order. */
export function waitingList(view, trainingId) {
  return [...view.training_signup.values()]
    .filter((s) => s.training_id === trainingId && s.status === 'waitlisted')
    .sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || (a.signed_up_at < b.signed_up_at ? -1 : 1));
}

/** The name the server copies into a sign-up: the person's own (when more than the id),
 *  else their volunteer profile's, else the id. */
function nameOf(view, user, me) {
  if (user === me?.user && me?.name && me.name !== me.user) return me.name;
  return view.volunteer?.get(user)?.name || view.volunteer_card && [...view.volunteer_card.values()].find((c) => c.user_id === user)?.name || user;
}

function patch(map, id, values) {
  const row = map.get(id);
  if (row) map.set(id, { ...row, ...values, pending: true });
  return row;
}

/** Free seats go to the waiting list in order (the counts from the training row, so a
 *  volunteer's phone, which sees no one else's sign-up, still shows them right). */
function promote(view, training, updatedAt) {
  const free = Math.max(0, training.capacity - training.confirmed);
  const moving = Math.min(free, training.waitlisted);
  const waiting = waitingList(view, training.id);
  waiting.slice(0, moving).forEach((s) => patch(view.training_signup, s.id, { status: 'confirmed', position: null, updated_at: updatedAt }));
  waiting.slice(moving).forEach((s, i) => { if (s.position !== i + 1) patch(view.training_signup, s.id, { position: i + 1, updated_at: updatedAt }); });
  return { confirmed: training.confirmed + moving, waitlisted: training.waitlisted - moving };
}

export const TRAINING_OVERLAY = {
  'training.create'(view, args, m, me) {
    const station = view.station?.get(args.station);
    view.training.set(args.id, {
      id: args.id, station: args.station, district: station?.district || me?.district || '',
      topic: args.topic, speaker: args.speaker, starts_at: normalTime(args.starts_at), ends_at: normalTime(args.ends_at),
      place: args.place, capacity: args.capacity, hours: args.hours, audience: args.audience ?? 'all',
      occasion: args.occasion ?? 'other', description: args.description ?? '', status: 'open', cancel_reason: null,
      confirmed: 0, waitlisted: 0, attended: 0, attachments: args.attachments ?? [],
      created_by: me?.user ?? '', created_at: m.created_at, updated_at: m.created_at, pending: true,
    });
  },
  'training.update'(view, args, m) {
    const training = view.training.get(args.id);
    if (!training || training.status === 'cancelled') return;
    const fields = { ...(args.fields || {}) };
    for (const name of ['starts_at', 'ends_at']) if (fields[name]) fields[name] = normalTime(fields[name]);
    if (fields.capacity != null && fields.capacity < training.confirmed) return; // refused
    const files = [...(training.attachments || [])];
    for (const ref of args.attachments || []) if (!files.some((f) => f.sha256 === ref.sha256)) files.push(ref);
    let next = { ...training, ...fields, attachments: files, updated_at: m.created_at, pending: true };
    if (fields.capacity != null) next = { ...next, ...promote(view, next, m.created_at) };
    if (fields.hours != null) {
      for (const s of view.training_signup.values()) {
        if (s.training_id === args.id && s.status === 'attended') patch(view.training_signup, s.id, { hours: fields.hours, updated_at: m.created_at });
      }
    }
    view.training.set(args.id, next);
  },
  'training.cancel'(view, args, m) {
    const training = view.training.get(args.id);
    if (!training || training.status === 'cancelled' || training.attended) return;
    patch(view.training, args.id, { status: 'cancelled', cancel_reason: args.reason, updated_at: m.created_at });
  },
  'training.signup'(view, args, m, me) {
    const training = view.training.get(args.training_id);
    const user = args.user || me?.user || '';
    if (!training || training.status !== 'open' || activeSignup(view, training.id, user)) return;
    const seat = training.confirmed < training.capacity;
    view.training_signup.set(args.id, {
      id: args.id, training_id: training.id, user, name: nameOf(view, user, me),
      station: training.station, district: training.district, status: seat ? 'confirmed' : 'waitlisted',
      position: seat ? null : training.waitlisted + 1, signed_up_at: m.created_at, signed_up_by: me?.user ?? '',
      attended_at: null, attended_by: null, walk_in: false, hours: 0, updated_at: m.created_at, pending: true,
    });
    patch(view.training, training.id, seat ? { confirmed: training.confirmed + 1, updated_at: m.created_at }
      : { waitlisted: training.waitlisted + 1, updated_at: m.created_at });
  },
  'training.withdraw'(view, args, m, me) {
    const training = view.training.get(args.training_id);
    const held = training && activeSignup(view, training.id, args.user || me?.user || '');
    if (!held || held.status === 'attended') return;
    patch(view.training_signup, held.id, { status: 'cancelled', position: null, updated_at: m.created_at });
    const after = { ...training, confirmed: training.confirmed - (held.status === 'confirmed' ? 1 : 0), waitlisted: training.waitlisted - (held.status === 'waitlisted' ? 1 : 0) };
    const counts = training.status === 'open' ? promote(view, after, m.created_at) : { confirmed: after.confirmed, waitlisted: after.waitlisted };
    patch(view.training, training.id, { ...counts, updated_at: m.created_at });
  },
  'training.attend'(view, args, m, me) {
    const training = view.training.get(args.training_id);
    if (!training || training.status !== 'open') return;
    const user = (args.code && codeClaims(args.code)?.user) || args.user;
    if (!user) return;
    const at = normalTime(args.at);
    const held = activeSignup(view, training.id, user);
    if (held?.status === 'attended') {
      if (at < held.attended_at) patch(view.training_signup, held.id, { attended_at: at, updated_at: m.created_at });
      return;
    }
    const counts = { attended: training.attended + 1, updated_at: m.created_at };
    const seen = { status: 'attended', position: null, attended_at: at, attended_by: me?.user ?? '', hours: training.hours, updated_at: m.created_at };
    if (!held) {
      if (!args.code) return; // picked by name without a sign-up: refused
      view.training_signup.set(args.id, {
        id: args.id, training_id: training.id, user, name: nameOf(view, user, me), station: training.station, district: training.district,
        signed_up_at: m.created_at, signed_up_by: me?.user ?? '', walk_in: true, ...seen, pending: true,
      });
      counts.confirmed = training.confirmed + 1;
    } else {
      patch(view.training_signup, held.id, seen);
      if (held.status === 'waitlisted') {
        counts.confirmed = training.confirmed + 1;
        counts.waitlisted = training.waitlisted - 1;
        waitingList(view, training.id).filter((s) => s.id !== held.id)
          .forEach((s, i) => { if (s.position !== i + 1) patch(view.training_signup, s.id, { position: i + 1, updated_at: m.created_at }); });
      }
    }
    patch(view.training, training.id, counts);
  },
  'training.feedback'(view, args, m, me) {
    const training = view.training.get(args.training_id);
    const held = training && activeSignup(view, training.id, me?.user || '');
    if (!held || held.status !== 'attended') return;
    const id = `${training.id}:${me.user}`;
    view.training_feedback.set(id, {
      id, training_id: training.id, user: me.user, station: training.station, district: training.district,
      score: args.score, useful: args.useful, comment: args.comment ?? '', submitted_at: m.created_at, pending: true,
    });
  },
};
