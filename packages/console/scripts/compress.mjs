#!/usr/bin/env node
// After `vite build`: writes a Brotli and a gzip copy beside every asset, so the server sends them
// precompressed (packages/server/src/console/routes.ts) instead of compressing on every request,
// and prints what the first load costs (issue 17: at most 200 KB of compressed JavaScript).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const assets = join(dist, 'assets');
let js = 0;
for (const name of readdirSync(assets)) {
  if (name.endsWith('.br') || name.endsWith('.gz')) continue;
  const raw = readFileSync(join(assets, name));
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(join(assets, `${name}.br`), br);
  writeFileSync(join(assets, `${name}.gz`), gzipSync(raw, { level: 9 }));
  if (name.endsWith('.js')) js += br.length;
}
process.stdout.write(
  `console: ${(js / 1024).toFixed(1)} KB of JavaScript, Brotli-compressed, in all chunks\n`,
);
