// Photos and PDFs on records (docs/pwa.md "Photos and the upload queue"): take a photo
// with the camera or pick one or a PDF; a photo is resized on the phone (long side at most
// 1,600 px, JPEG) with its EXIF orientation applied and re-encoded through a canvas, so no
// EXIF and no GPS position leaves the phone; the file is kept in IndexedDB and its
// reference goes on the record. Thumbnails show each file's state: waiting for upload,
// uploading n %, uploaded, refused (the server's reason); a file on another phone's record
// is fetched with the device token, or shows "photo waiting to upload" until it arrived.
import { useEffect, useRef, useState } from 'preact/hooks';
import { addStrings, pick, t } from '../i18n.js';
import { addFile, fileStates, fileUrl, subscribeFiles } from '../sync/files.js';

export const PHOTO_MAX_SIDE = 1600;
export const PHOTO_QUALITY = 0.85;
export const MAX_FILES = 6;

addStrings({
  'files.take_photo': ['拍照', 'Take photo'],
  'files.pick_photo': ['从相册选择', 'Gallery'],
  'files.pick_file': ['选择照片或 PDF', 'Photo or PDF'],
  'files.working': ['正在处理照片…', 'Preparing the photo…'],
  'files.draft': ['保存后上传', 'Uploads once saved'],
  'files.waiting': ['等待上传', 'Waiting for upload'],
  'files.uploading': ['上传中 {p}%', 'Uploading {p}%'],
  'files.uploaded': ['已上传', 'Uploaded'],
  'files.refused': ['未被接受:{reason}', 'Refused: {reason}'],
  'files.pending_remote': ['照片等待上传', 'Photo waiting to upload'],
  'files.pending_remote_pdf': ['文件等待上传', 'File waiting to upload'],
  'files.missing': ['无法查看此文件', 'This file cannot be shown'],
  'files.offline': ['联网后显示', 'Shown when online'],
  'files.remove': ['移除第 {n} 个文件', 'Remove file {n}'],
  'files.open': ['查看第 {n} 个文件', 'Open file {n}'],
  'files.photo_alt': ['照片 {n}', 'Photo {n}'],
  'files.close': ['关闭', 'Close'],
  'files.not_image': ['这不是照片,请重新选择', 'This is not a photo; pick another'],
  'files.not_pdf': ['这不是有效的 PDF 文件', 'This is not a valid PDF file'],
  'files.unreadable': ['无法读取这张照片,请重拍', 'This photo cannot be read; take it again'],
  'files.too_large': ['文件超过 {mb} MB,无法上传', 'The file is larger than {mb} MB and cannot be uploaded'],
  'files.too_many': ['最多 {n} 个文件', 'At most {n} files'],
  'files.no_exif': ['照片在本机缩小并去除位置等信息后上传', 'Photos are made smaller and stripped of location data on this phone before upload'],
  'files.to_upload': ['{n} 个文件待上传', '{n} {n|file|files} to upload'],
  'files.count': ['{n} 个文件', '{n} {n|file|files}'],
});

// ---- preparing a photo -------------------------------------------------------------------

/** A camera photo made fit to send: upright (EXIF orientation applied by the decoder), at
 *  most PHOTO_MAX_SIDE on its long side, drawn onto a canvas and encoded as a new JPEG, so
 *  none of the original's metadata (EXIF, GPS, maker notes) is in the bytes. */
export async function preparePhoto(file, { maxSide = PHOTO_MAX_SIDE, quality = PHOTO_QUALITY } = {}) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  try {
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.fillStyle = '#fff'; // a transparent PNG becomes white, not black, as a JPEG
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0, width, height);
    const blob = canvas.convertToBlob
      ? await canvas.convertToBlob({ type: 'image/jpeg', quality })
      : await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    return { blob, width, height };
  } finally {
    bitmap.close?.();
  }
}

const isPdf = async (file) => {
  const head = new Uint8Array(await file.slice(0, 5).arrayBuffer());
  return String.fromCharCode(...head) === '%PDF-';
};

/** A camera, drawn (the phone may have no emoji font). */
function CameraIcon({ size = 22 }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
      <path d="M4 8h3l2-3h6l2 3h3v11H4z" /><circle cx="12" cy="13" r="3.5" />
    </svg>
  );
}

// ---- states ------------------------------------------------------------------------------

/** sha256 -> this phone's copy's state, live (progress from the upload queue, any tab). */
export function useFileStates() {
  const [states, setStates] = useState(() => new Map());
  useEffect(() => {
    let live = true;
    const read = () => fileStates().then((m) => live && setStates(m)).catch(() => {});
    read();
    const off = subscribeFiles((p) => {
      if (p.sha256 && p.state === 'queued') {
        setStates((prev) => new Map(prev).set(p.sha256, { ...(prev.get(p.sha256) || {}), state: p.state, received: p.received, size: p.size }));
      } else {
        read();
      }
    });
    return () => { live = false; off(); };
  }, []);
  return states;
}

/** Each reference's state to show: this phone's copy (draft / waiting / uploading /
 *  uploaded / refused) or the server's (ok, pending, missing, offline) with a blob URL. */
export function useAttachments(app, refs) {
  const local = useFileStates();
  const [remote, setRemote] = useState(() => new Map());
  const token = app?.meta?.token;
  const syncedAt = app?.meta?.last_sync_at;
  const key = (refs || []).map((r) => r.sha256).join(',');
  const localKey = (refs || []).map((r) => `${r.sha256}:${local.get(r.sha256)?.state || '-'}`).join(',');
  useEffect(() => {
    let live = true;
    for (const ref of refs || []) {
      fileUrl(ref.sha256, { thumb: true, token }).then((found) => {
        if (live) setRemote((prev) => new Map(prev).set(ref.sha256, found));
      });
    }
    return () => { live = false; };
  }, [key, localKey, token, syncedAt]);
  return (refs || []).map((ref) => {
    const mine = local.get(ref.sha256);
    const shown = remote.get(ref.sha256);
    let status;
    if (mine?.state === 'draft') status = 'draft';
    else if (mine?.state === 'queued') status = mine.received > 0 ? 'uploading' : 'waiting';
    else if (mine?.state === 'done') status = 'uploaded';
    else if (mine?.state === 'refused') status = 'refused';
    else status = shown?.state === 'ok' || shown?.state === 'no_thumbnail' ? 'uploaded' : shown?.state || 'loading';
    return { ref, status, url: shown?.state === 'ok' ? shown.url : null, received: mine?.received || 0, size: ref.size, error: mine?.error || null };
  });
}

/** True when some reference of `kind` has reached the server (an invoice before payment). */
export function arrived(items, kind = null) {
  return items.some((item) => (!kind || item.ref.kind === kind) && item.status === 'uploaded');
}

function StateLine({ item }) {
  const pdf = item.ref.media_type === 'application/pdf';
  const p = item.size ? Math.floor((100 * item.received) / item.size) : 0;
  switch (item.status) {
    case 'draft': return <span class="file-state muted">{t('files.draft')}</span>;
    case 'waiting': return <span class="file-state waiting">{t('files.waiting')}</span>;
    case 'uploading': return (
      <span class="file-state waiting">
        <progress max="100" value={p} aria-label={t('files.uploading', { p })} data-testid="upload-progress" data-progress={p} />
        {t('files.uploading', { p })}
      </span>
    );
    case 'uploaded': return <span class="file-state ok">✓ {t('files.uploaded')}</span>;
    case 'refused': return <span class="file-state bad" role="alert">{t('files.refused', { reason: pick(item.error?.message) || item.error?.code || '' })}</span>;
    case 'pending': return <span class="file-state waiting">{t(pdf ? 'files.pending_remote_pdf' : 'files.pending_remote')}</span>;
    case 'missing': return <span class="file-state muted">{t('files.missing')}</span>;
    case 'offline': return <span class="file-state muted">{t('files.offline')}</span>;
    default: return <span class="file-state muted">…</span>;
  }
}

/** Full size over the screen; a PDF opens in the browser's viewer. */
function Viewer({ item, token, onClose }) {
  const [url, setUrl] = useState(null);
  const close = useRef(null);
  useEffect(() => {
    fileUrl(item.ref.sha256, { thumb: false, token }).then((found) => setUrl(found.state === 'ok' ? found.url : ''));
    close.current?.focus();
  }, [item.ref.sha256]);
  return (
    <div class="viewer" role="dialog" aria-modal="true" aria-label={t('files.open', { n: 1 })} data-testid="file-viewer" onClick={onClose}>
      <button type="button" ref={close} class="viewer-close" onClick={onClose}>✕ {t('files.close')}</button>
      {url === null ? <p>…</p> : url ? <img src={url} alt="" /> : <p>{t('files.missing')}</p>}
    </div>
  );
}

function Tile({ item, n, token, onRemove }) {
  const [open, setOpen] = useState(false);
  const pdf = item.ref.media_type === 'application/pdf';
  const openPdf = async () => {
    const found = await fileUrl(item.ref.sha256, { thumb: false, token });
    if (found.state === 'ok') window.open(found.url, '_blank', 'noopener');
  };
  const canOpen = !!item.url || (pdf && item.status === 'uploaded');
  return (
    <li class="thumb" data-testid="attachment" data-sha={item.ref.sha256} data-state={item.status} data-kind={item.ref.kind}>
      <button type="button" class="thumb-face" disabled={!canOpen} aria-label={t('files.open', { n })}
        onClick={() => (pdf ? openPdf() : setOpen(true))}>
        {pdf ? <span class="pdf-icon" aria-hidden="true">PDF</span>
          : item.url ? <img src={item.url} alt={t('files.photo_alt', { n })} /> : <span class="photo-icon"><CameraIcon size={32} /></span>}
      </button>
      <StateLine item={item} />
      {onRemove && <button type="button" class="thumb-remove" aria-label={t('files.remove', { n })} onClick={onRemove}>✕</button>}
      {open && <Viewer item={item} token={token} onClose={() => setOpen(false)} />}
    </li>
  );
}

/** The files of a record, read-only (detail views). */
export function AttachmentList({ app, refs, title = null, testid = 'attachments', items: given = null }) {
  const own = useAttachments(app, given ? [] : refs);
  const items = given || own;
  if (!refs?.length) return null;
  return (
    <section class="attachments" data-testid={testid}>
      {title && <h2>{title}</h2>}
      <ul class="thumbs">{items.map((item, i) => <Tile key={item.ref.sha256} item={item} n={i + 1} token={app.meta.token} />)}</ul>
    </section>
  );
}

/** Take or pick files for a form. `value`: the references so far; `onChange(refs)`.
 *  `kind`: what they are on the record (photo, invoice); `pdf`: a PDF may be picked too;
 *  `maxBytes`: the server's per-file limit (client-config `file_max_bytes`). */
export function PhotoPicker({ app, value, onChange, kind = 'photo', pdf = false, label, testid = 'photos', maxBytes = 10 * 1024 * 1024, max = MAX_FILES, hint = null }) {
  const refs = value || [];
  const items = useAttachments(app, refs);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const latest = useRef(refs);
  latest.current = refs;

  async function take(event) {
    const input = event.currentTarget;
    const files = [...(input.files || [])];
    input.value = ''; // the same photo may be picked again after removing it
    if (!files.length) return;
    setBusy(true);
    setError(null);
    const next = [...latest.current];
    let problem = null;
    for (const file of files) {
      if (next.length >= max) { problem = t('files.too_many', { n: max }); break; }
      try {
        let ref;
        if (file.type === 'application/pdf' || /\.pdf$/i.test(file.name || '')) {
          if (!pdf) { problem = t('files.not_image'); continue; }
          if (!(await isPdf(file))) { problem = t('files.not_pdf'); continue; }
          if (file.size > maxBytes) { problem = t('files.too_large', { mb: Math.floor(maxBytes / 1048576) }); continue; }
          ref = await addFile(file, { media_type: 'application/pdf', kind: kind === 'photo' ? 'document' : kind });
        } else {
          let photo;
          try { photo = await preparePhoto(file); } catch { problem = t(file.type.startsWith('image/') ? 'files.unreadable' : 'files.not_image'); continue; }
          ref = await addFile(photo.blob, { media_type: 'image/jpeg', kind });
        }
        if (!next.some((r) => r.sha256 === ref.sha256)) next.push(ref);
      } catch (err) {
        problem = String(err?.message || err);
      }
    }
    setBusy(false);
    setError(problem);
    onChange(next);
  }

  return (
    <fieldset class="photos" data-testid={testid}>
      <legend>{label}{refs.length > 0 && ` · ${t('files.count', { n: refs.length })}`}</legend>
      {items.length > 0 && (
        <ul class="thumbs">
          {items.map((item, i) => <Tile key={item.ref.sha256} item={item} n={i + 1} token={app.meta.token}
            onRemove={() => onChange(refs.filter((r) => r.sha256 !== item.ref.sha256))} />)}
        </ul>
      )}
      {hint}
      <div class="file-buttons row">
        <label class="button file-button">
          <CameraIcon /> {t('files.take_photo')}
          <input type="file" accept="image/*" capture="environment" class="visually-hidden" data-testid={`${testid}-camera`} onChange={take} disabled={busy} />
        </label>
        <label class="button file-button">
          {t(pdf ? 'files.pick_file' : 'files.pick_photo')}
          <input type="file" accept={pdf ? 'image/*,application/pdf' : 'image/*'} multiple class="visually-hidden" data-testid={`${testid}-pick`} onChange={take} disabled={busy} />
        </label>
      </div>
      {busy && <p class="muted" role="status" data-testid={`${testid}-working`}>{t('files.working')}</p>}
      {error && <p class="bad" role="alert" data-testid={`${testid}-error`}>{error}</p>}
      <p class="muted small-note">{t('files.no_exif')}</p>
    </fieldset>
  );
}
