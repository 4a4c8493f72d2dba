// Build of the phone app: Preact for the screens, and vite-plugin-pwa in injectManifest
// mode, so the service worker (src/sw.js) gets the precache list of exactly the files
// this build produced (never a hand-kept list) and the web app manifest is generated.
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
// X-App-Version (src/sync/version.js): the package's version (raise it with each release).
const APP_VERSION = pkg.version;

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  define: { __APP_VERSION__: JSON.stringify(APP_VERSION) },
  build: { target: 'es2020', sourcemap: false, assetsInlineLimit: 0 },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.js',
      registerType: 'autoUpdate',
      includeManifestIcons: false,
      injectRegister: false, // src/main.jsx registers it, scope "/"
      injectManifest: {
        rollupFormat: 'iife',
        globPatterns: ['**/*.{js,css,html,png}'],
        maximumFileSizeToCacheInBytes: 1024 * 1024,
      },
      manifest: {
        id: '/',
        name: '社区慈善 · Community Charity',
        short_name: '社区慈善',
        description: '社工站活动、捐赠与志愿服务(离线可用)· Social Work + Charity, works offline',
        lang: 'zh-CN',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'portrait',
        theme_color: '#c0392b',
        background_color: '#fdf8f6',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
    }),
  ],
});
