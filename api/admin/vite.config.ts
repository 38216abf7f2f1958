/**
 * vite builds the admin UI into api/admin/dist, which the api serves on PERFWATCH_UI_PORT.
 * build.mjs runs this with root = api/admin (scripts/lib.mjs, the e2e test and bench-size.mjs
 * all go through it); `npx vite api/admin` is a dev server that proxies the API to :8000.
 */
import { defineConfig } from 'vite';

const API = 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Chromium, Firefox and Safari all have modulepreload; the polyfill would only add bytes.
    modulePreload: { polyfill: false },
    // build.mjs prints the gzipped size of the JS it cares about (the 100 KB budget).
    reportCompressedSize: false,
    sourcemap: false,
  },
  server: {
    // Same origin through the proxy, so the SameSite=Strict session cookie works in dev too.
    proxy: { '/api': API, '/health': API, '/ready': API, '/metrics': API },
  },
});
