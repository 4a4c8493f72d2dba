// Before anything else: is this a place where the app can work at all?
// - Over plain http (anything but localhost) the browser gives no service worker, no
//   offline storage guarantees, no camera and no crypto.randomUUID: enrolment would fail
//   and blame the code. Say what is wrong and what to do instead.
// - Inside WeChat's in-app browser (QR codes are mostly scanned with WeChat) the app's data
//   may be wiped at any time: tell the person how to open it in the phone's browser.
// Both languages are shown at once (the person may not find the language switch yet).
import { useState } from 'preact/hooks';

const SKIP_KEY = 'charity.wechat-continue';

/** 'insecure' | 'wechat' | null, from the page's own context. */
export function contextProblem(win = window) {
  if (win.isSecureContext === false) return 'insecure';
  if (/MicroMessenger/i.test(win.navigator?.userAgent || '')) return 'wechat';
  return null;
}

const S = {
  insecureTitle: ['此页面需要通过 HTTPS 打开', 'This page must be opened over HTTPS'],
  insecureShort: [
    '你打开的是不加密的地址 {origin},本应用在这里无法登记和使用。这不是登记码的问题。',
    'You opened {origin}, which is not encrypted: the app cannot be enrolled or used here. Your enrolment code is not the problem.',
  ],
  openHttps: ['改用加密地址打开', 'Open the secure address instead'],
  askAdmin: [
    '如果打不开,或浏览器提示“不安全”“证书错误”,请截图此页发给管理员:服务器需要配置 HTTPS 证书。',
    'If it does not open, or the browser warns "not secure" or about the certificate, send a screenshot of this page to your administrator: the server needs an HTTPS certificate.',
  ],
  insecureWhy: [
    '为什么:手机浏览器只在 HTTPS 安全连接下才允许网页离线工作、可靠保存记录和使用相机(扫码)。',
    'Why: phone browsers only let a web app work offline, keep its records safely and use the camera (to scan codes) over a secure HTTPS connection.',
  ],
  adminNote: [
    '管理员:见 docs/deployment.md(由反向代理自动获取证书);试用时可生成开发证书:',
    'Administrators: see docs/deployment.md (a reverse proxy that gets certificates); for a trial, make a development certificate with',
  ],
  wechatTitle: ['请在手机浏览器中打开', "Open this in your phone's browser"],
  wechatWhy: [
    '微信内置浏览器可能随时清除本应用保存的记录,也不能离线使用。',
    "WeChat's built-in browser may erase what this app keeps at any time, and cannot run it offline.",
  ],
  wechatStep1: ['点右上角的 ··· 按钮', 'Tap the ··· button at the top right'],
  wechatStep2: ['选择“在浏览器打开”(iPhone:“在 Safari 中打开”)', 'Choose "Open in Browser" (iPhone: "Open in Safari")'],
  copy: ['复制链接', 'Copy the link'],
  copied: ['已复制,可粘贴到浏览器地址栏', 'Copied: paste it into the browser\'s address bar'],
  continueHere: ['仍在微信中继续(不推荐)', 'Continue in WeChat anyway (not recommended)'],
};

function Both({ k, params = {}, tag: Tag = 'p', ...rest }) {
  const fill = (text) => Object.entries(params).reduce((s, [n, v]) => s.replaceAll(`{${n}}`, v), text);
  return (
    <Tag {...rest}>
      <span lang="zh-CN">{fill(S[k][0])}</span>
      <span lang="en" class="muted" style={{ display: 'block', fontSize: '.9em', marginTop: '2px' }}>{fill(S[k][1])}</span>
    </Tag>
  );
}

function httpsAddress(loc) {
  return `https://${loc.host}${loc.pathname}${loc.hash}`;
}

function Insecure({ loc, wechat }) {
  return (
    <main class="screen" data-testid="context-insecure" role="alert">
      <Both tag="h1" k="insecureTitle" />
      <Both k="insecureShort" params={{ origin: `http://${loc.host}` }} />
      <a class="button primary block" href={httpsAddress(loc)} data-testid="context-https-link"
        style={{ flexDirection: 'column', padding: '8px 16px', marginTop: '16px' }}>
        <span>{S.openHttps[0]} · {S.openHttps[1]}</span>
        <span class="mono" style={{ color: '#fff', opacity: 0.9 }}>https://{loc.host}</span>
      </a>
      {wechat && (
        <div class="notice" style={{ margin: '12px 0' }}>
          <Both k="wechatTitle" style={{ fontWeight: 600, margin: '0 0 4px' }} />
          <Both k="wechatStep1" style={{ margin: '0 0 4px' }} />
          <Both k="wechatStep2" style={{ margin: 0 }} />
        </div>
      )}
      <Both k="askAdmin" />
      <Both k="insecureWhy" class="muted" style={{ fontSize: '.9rem' }} />
      <div class="muted" style={{ fontSize: '.85rem', marginTop: '24px', borderTop: '1px solid var(--line)', paddingTop: '8px' }}>
        <Both k="adminNote" style={{ margin: '0 0 4px' }} />
        <code style={{ whiteSpace: 'nowrap' }}>python -m server tls self-signed</code>
      </div>
    </main>
  );
}

function WeChat({ loc, onContinue }) {
  const [copied, setCopied] = useState(false);
  const canCopy = !!navigator.clipboard?.writeText;
  return (
    <main class="screen" data-testid="context-wechat" role="alert" style={{ position: 'relative' }}>
      <div aria-hidden="true" style={{ position: 'absolute', top: 0, right: '8px', fontSize: '2.5rem', lineHeight: 1, color: 'var(--theme)' }}>↗</div>
      <Both tag="h1" k="wechatTitle" style={{ paddingRight: '40px' }} />
      <Both k="wechatWhy" />
      <ol style={{ paddingLeft: '1.2em', fontSize: '1.1rem' }}>
        <li><Both k="wechatStep1" /></li>
        <li><Both k="wechatStep2" /></li>
      </ol>
      {canCopy && (
        <button class="block" type="button" onClick={() => navigator.clipboard.writeText(loc.href).then(() => setCopied(true), () => {})}>
          {S.copy[0]} · {S.copy[1]}
        </button>
      )}
      {copied && <Both k="copied" class="notice" role="status" />}
      <button class="block small" type="button" style={{ marginTop: '24px', background: 'transparent', borderColor: 'transparent', color: 'var(--muted)' }}
        data-testid="context-continue" onClick={onContinue}>
        {S.continueHere[0]} · {S.continueHere[1]}
      </button>
    </main>
  );
}

/** Renders its children when the page can work; otherwise the explanation. A person who
 *  chooses to stay in WeChat is not asked again in this tab. */
export function ContextCheck({ children }) {
  const [problem, setProblem] = useState(() => {
    const found = contextProblem();
    try {
      if (found === 'wechat' && sessionStorage.getItem(SKIP_KEY)) return null;
    } catch { /* storage blocked: ask again */ }
    return found;
  });
  if (!problem) return children;
  const wechat = /MicroMessenger/i.test(navigator.userAgent || '');
  const shell = (body) => (
    <div class="shell" style={{ paddingBottom: 0 }}>
      <header class="topbar">
        <span class="brand"><img src="/icons/favicon-32.png" alt="" width="24" height="24" />社区慈善 · Community Charity</span>
      </header>
      <div class="content">{body}</div>
    </div>
  );
  if (problem === 'insecure') return shell(<Insecure loc={location} wechat={wechat} />);
  return shell(
    <WeChat loc={location} onContinue={() => {
      try { sessionStorage.setItem(SKIP_KEY, '1'); } catch { /* fine: this tab only */ }
      setProblem(null);
    }} />,
  );
}
