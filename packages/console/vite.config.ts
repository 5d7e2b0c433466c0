import { defineConfig } from 'vite';

// The console is static files the server serves at / (packages/server/src/console/routes.ts).
// JSX compiles to Preact's automatic runtime; no inline script may appear in index.html (the
// server's CSP is `script-src 'self'`), so Vite's module-preload polyfill, which it would inline,
// is off: every browser the console supports preloads modules natively.
export default defineConfig({
  root: '.',
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
