#!/usr/bin/env node
// The `brickless` command: runs the compiled CLI (built by `npm run build`, which `npm start` does).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'brickless: not built yet; run `npm run build` (or `npm start`) in the repository first\n',
  );
  process.exit(1);
}
await import(main.href);
