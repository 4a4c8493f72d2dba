// Needs: the list of a round's needs (staff see the description and contact, everyone the
// published titles), the offline form staff fill in at an event on a resident's behalf (or a
// signed-in resident for themself), merging a duplicate into another and publishing a title.
import { useState } from 'preact/hooks';
import { configValue } from '../../config.js';
import { t } from '../../i18n.js';
import { go } from '../../router.js';
import { atLeast } from '../../roles.js';
import { act } from '../../state.js';
import { useSubmit } from '../../ui/forms.js';
import { FieldError, FormStatus, SaveButton } from '../../ui/formparts.jsx';
import { AttachmentList, PhotoPicker } from '../../ui/photos.jsx';
import { NEED_CATEGORIES, PHONE_RE, staffOfRound } from './model.js';
import { Missing, PhaseTag } from './rounds.jsx';

function needsOf(app, roundId) {
  return [...(app.view.need?.values() || [])].filter((n) => n.round_id === roundId)
    .sort((a, b) => (b.raised_count || 1) - (a.raised_count || 1) || String(b.created_at).localeCompare(String(a.created_at)));
}

function NeedCard({ app, need, staff, round, others }) {
  const [mode, setMode] = useState(null); // 'merge' | 'publish'
  const [into, setInto] = useState('');
  const [title, setTitle] = useState(need.public_title || '');
  const form = useSubmit();
  const merge = () => form.run(async (intent) => {
    if (!into) return form.fail(t('needs.pick_target'));
    await act('need.merge', { id: need.id, into }, 1, { key: intent.key });
    setMode(null);
    return true;
  });
  const publish = () => form.run(async (intent) => {
    if (!title.trim()) return form.fail(t('form.required', { field: t('needs.public_title') }));
    await act('need.publish', { id: need.id, public_title: title.trim() }, 1, { key: intent.key });
    setMode(null);
    return true;
  });
  const erase = () => form.run(async (intent) => {
    if (!confirm(t('needs.erase_confirm'))) return false;
    await act('need.erase_contact', { id: need.id }, 1, { key: intent.key });
    return true;
  });
  const mergedInto = need.merged_into && app.view.need?.get(need.merged_into);
  const erasable = atLeast(app.meta.me, 'manager') && (need.contact || (need.description && need.description !== ERASED));
  return (
    <li class={`need ${need.status}`} data-testid="need-card" data-id={need.id} data-status={need.status}>
      <div class="need-head">
        <span class="tag cat">{t(`need.cat.${need.category}`)}</span>
        <span class="muted">{need.community}</span>
        <span class="raised" data-testid="need-raised">{t('needs.raised', { n: need.raised_count || 1 })}</span>
      </div>
      {need.public_title && <p class="title" data-testid="need-public-title">{need.public_title}</p>}
      {staff && need.description && <p class="desc" data-testid="need-description">{need.description}</p>}
      {staff && (need.contact?.name || need.contact?.phone) && (
        <p class="muted small-note" data-testid="need-contact">{t('needs.contact')}: {[need.contact.name, need.contact.phone].filter(Boolean).join(' · ')}</p>
      )}
      <p class="muted small-note">
        {t(`needs.via.${need.raised_via || 'staff'}`)} · {t(`needs.status.${need.status}`)}
        {mergedInto && <> · {t('needs.merged_into', { title: mergedInto.public_title || t(`need.cat.${mergedInto.category}`) })}</>}
        {need.pending && <> · <span class="tag pending">{t('events.pending')}</span></>}
      </p>
      {staff && <AttachmentList app={app} refs={need.attachments} testid="need-photos" />}
      {staff && need.status !== 'merged' && round.phase !== 'closed' && (
        <div class="row">
          <button type="button" class="small" onClick={() => setMode(mode === 'publish' ? null : 'publish')} data-testid="need-publish-open">{t(need.public_title ? 'needs.retitle' : 'needs.publish')}</button>
          {others.length > 0 && <button type="button" class="small" onClick={() => setMode(mode === 'merge' ? null : 'merge')} data-testid="need-merge-open">{t('needs.merge')}</button>}
        </div>
      )}
      {staff && erasable && <button type="button" class="small danger" onClick={erase} disabled={form.saving} data-testid="need-erase">{t('needs.erase')}</button>}
      {mode === 'publish' && (
        <div class="inline-form">
          <label>{t('needs.public_title')}<input value={title} onInput={(e) => { setTitle(e.currentTarget.value); form.clear(); }} maxLength={120} data-testid="need-title-input" /></label>
          <p class="muted small-note">{t('needs.public_hint')}</p>
          <button type="button" class="primary block" onClick={publish} disabled={form.saving} data-testid="need-publish">{t('needs.publish')}</button>
        </div>
      )}
      {mode === 'merge' && (
        <div class="inline-form">
          <label>{t('needs.merge_into')}
            <select value={into} onChange={(e) => { setInto(e.currentTarget.value); form.clear(); }} data-testid="need-merge-target">
              <option value="">—</option>
              {others.map((o) => <option key={o.id} value={o.id}>{t(`need.cat.${o.category}`)} · {o.community} · {(o.public_title || o.description || '').slice(0, 24)}</option>)}
            </select>
          </label>
          <p class="muted small-note">{t('needs.merge_hint')}</p>
          <button type="button" class="primary block" onClick={merge} disabled={form.saving} data-testid="need-merge">{t('needs.merge')}</button>
        </div>
      )}
      <FormStatus form={form} />
    </li>
  );
}

export function NeedList({ app, params }) {
  const [roundId] = params;
  const round = app.view.round?.get(roundId);
  const me = app.meta.me;
  if (!round) return <Missing />;
  const staff = staffOfRound(me, round);
  const needs = needsOf(app, roundId);
  const open = needs.filter((n) => n.status !== 'merged');
  const merged = needs.filter((n) => n.status === 'merged');
  const canAdd = round.phase === 'needs' && atLeast(me, 'volunteer');
  return (
    <main class="screen programme" data-testid="need-list">
      <a class="back" href={`#/rounds/${roundId}`}>‹ {round.title}</a>
      <h1>{t('needs.title')}</h1>
      <p><PhaseTag phase={round.phase} /> <span class="muted">{t('needs.count', { n: open.length })}</span></p>
      {canAdd && <a class="button primary block" href={`#/rounds/${roundId}/needs/new`} data-testid="new-need">+ {t(staff ? 'needs.record' : 'needs.raise')}</a>}
      {!canAdd && <p class="muted">{t('needs.closed')}</p>}
      {!staff && <p class="muted small-note">{t('needs.private_note')}</p>}
      <ul class="plain needs">
        {open.map((n) => <NeedCard key={n.id} app={app} need={n} staff={staff} round={round} others={open.filter((o) => o.id !== n.id)} />)}
      </ul>
      {merged.length > 0 && staff && (
        <details>
          <summary>{t('needs.merged_count', { n: merged.length })}</summary>
          <ul class="plain needs">{merged.map((n) => <NeedCard key={n.id} app={app} need={n} staff={staff} round={round} others={[]} />)}</ul>
        </details>
      )}
    </main>
  );
}

/** What the server leaves of an erased need's words (schemas/rounds.py ERASED_TEXT). */
const ERASED = '已删除 / erased';

const BLANK = { category: '', community: '', description: '', contact_name: '', contact_phone: '', photos: [] };

export function NeedForm({ app, params }) {
  const [roundId] = params;
  const round = app.view.round?.get(roundId);
  const me = app.meta.me;
  const [form, setForm] = useState(BLANK);
  const [done, setDone] = useState(0);
  const submitting = useSubmit();
  if (!round) return <Missing />;
  const staff = staffOfRound(me, round);
  const set = (name) => (e) => { setForm({ ...form, [name]: e.currentTarget.value }); submitting.clear(); };

  function save(e) {
    e.preventDefault();
    return submitting.run(async (intent) => {
      if (!form.category) return submitting.fail(t('form.required', { field: t('needs.category') }));
      if (!form.community.trim()) return submitting.fail(t('form.required', { field: t('needs.community') }));
      if (!form.description.trim()) return submitting.fail(t('form.required', { field: t('needs.description') }));
      const phone = form.contact_phone.trim();
      if (phone && !PHONE_RE.test(phone)) return submitting.fail(t('form.bad_phone'));
      await act('need.submit', {
        id: intent.id, round_id: roundId, category: form.category, community: form.community.trim(),
        description: form.description.trim(), raised_via: staff ? 'booth' : 'staff',
        contact: form.contact_name.trim() || phone ? { name: form.contact_name.trim() || null, phone: phone || null } : null,
        attachments: form.photos,
      }, 1, { key: intent.key });
      // the next resident at the booth: the community stays, the rest empties
      setForm({ ...BLANK, community: form.community });
      setDone((n) => n + 1);
      return true;
    });
  }
  return (
    <main class="screen form programme">
      <a class="back" href={`#/rounds/${roundId}/needs`}>‹ {t('needs.title')}</a>
      <h1>{t(staff ? 'needs.record' : 'needs.raise')}</h1>
      <p class="muted">{round.title}</p>
      {round.phase !== 'needs' && <p class="notice bad">{t('needs.closed')}</p>}
      <form onSubmit={save} data-testid="need-form">
        <fieldset class="items cats">
          <legend>{t('needs.category')}</legend>
          <div class="chips row">
            {NEED_CATEGORIES.map((c) => (
              <button type="button" key={c} class={form.category === c ? 'on' : ''} aria-pressed={form.category === c}
                onClick={() => { setForm({ ...form, category: c }); submitting.clear(); }} data-testid={`need-cat-${c}`}>{t(`need.cat.${c}`)}</button>
            ))}
          </div>
        </fieldset>
        <FieldError fields={submitting.fields} path="category" />
        <label>{t('needs.community')}<input name="community" value={form.community} onInput={set('community')} maxLength={100} placeholder={t('needs.community_hint')} data-testid="need-community" /></label>
        <FieldError fields={submitting.fields} path="community" />
        <label>{t('needs.description')}<textarea name="description" rows="4" value={form.description} onInput={set('description')} maxLength={2000} data-testid="need-description-input" /></label>
        <p class="muted small-note">{t('needs.description_private')}</p>
        <FieldError fields={submitting.fields} path="description" />
        {staff && (
          <details class="more-fields">
            <summary>{t('needs.contact_optional')}</summary>
            <label>{t('needs.contact_name')}<input name="contact_name" value={form.contact_name} onInput={set('contact_name')} maxLength={60} autoComplete="off" /></label>
            <label>{t('needs.contact_phone')}<input name="contact_phone" type="tel" inputMode="tel" value={form.contact_phone} onInput={set('contact_phone')} maxLength={20} autoComplete="off" /></label>
            <p class="muted small-note">{t('needs.contact_private')}</p>
          </details>
        )}
        <PhotoPicker app={app} value={form.photos} onChange={(photos) => { setForm({ ...form, photos }); submitting.clear(); }}
          label={t('needs.photos')} testid="need-photos-pick" maxBytes={configValue(app.meta, 'file_max_bytes')} />
        <FormStatus form={submitting} shown={['category', 'community', 'description']} savedText={t('needs.saved', { n: done })} />
        <SaveButton form={submitting} label={t('needs.save')} testid="save-need" />
        {!app.online && <p class="muted">{t('programme.saved_offline')}</p>}
      </form>
      <button type="button" class="block" onClick={() => go(`/rounds/${roundId}/needs`)} data-testid="need-done">{t('needs.done')}</button>
    </main>
  );
}
