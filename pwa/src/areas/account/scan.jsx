// The camera scanner: the back camera through getUserMedia, read by the browser's own
// BarcodeDetector where there is one (Android Chrome, Safari 17+), else by jsQR, which is
// loaded only now (its own chunk, outside the first-load budget).
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n.js';

/** A function frame -> text|null for this browser. */
async function makeReader() {
  if ('BarcodeDetector' in globalThis) {
    try {
      const formats = await globalThis.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code')) {
        const detector = new globalThis.BarcodeDetector({ formats: ['qr_code'] });
        return async (video) => (await detector.detect(video))[0]?.rawValue || null;
      }
    } catch { /* fall back to jsQR */ }
  }
  const { default: jsQR } = await import('jsqr');
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!width || !height) return null;
    const scale = Math.min(1, 640 / Math.max(width, height)); // enough for a screen-sized QR
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' })?.data || null;
  };
}

export function Scanner({ onText, onClose }) {
  const video = useRef(null);
  const [problem, setProblem] = useState(null);
  const [ready, setReady] = useState(false);
  useEffect(() => {
    let stream = null;
    let stopped = false;
    (async () => {
      if (!navigator.mediaDevices?.getUserMedia) { setProblem(t('scan.no_camera')); return; }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
      } catch (err) {
        const name = err?.name;
        setProblem(name === 'NotAllowedError' || name === 'SecurityError' ? t('scan.denied')
          : name === 'NotFoundError' || name === 'OverconstrainedError' ? t('scan.no_camera')
            : t('scan.failed', { msg: err?.message || String(err) }));
        return;
      }
      if (stopped) { stream.getTracks().forEach((track) => track.stop()); return; }
      const element = video.current;
      element.srcObject = stream;
      await element.play().catch(() => {});
      setReady(true);
      const read = await makeReader();
      while (!stopped) {
        const text = await read(element).catch(() => null);
        if (text && !stopped) { stopped = true; onText(text); break; }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    return () => { stopped = true; stream?.getTracks().forEach((track) => track.stop()); };
  }, []);
  return (
    <div class="scanner" data-testid="scanner">
      {problem ? <p class="notice bad" role="alert" data-testid="scan-problem">{problem}</p> : (
        <>
          <p class="muted">{t(ready ? 'scan.title' : 'scan.starting')}</p>
          <video ref={video} playsInline muted class="scan-video" />
        </>
      )}
      <button type="button" class="block" onClick={onClose}>{t('scan.close')}</button>
    </div>
  );
}
