#!/usr/bin/env node
// `npm start [-- flags]`: builds when a source changed since the last build, then runs
// `brickless serve [flags]` in this same process. One Node start instead of two (a `prestart`
// script was a second process, and a second shell, before the server's own): issue 15.
import { buildIfStale } from './build-if-stale.mjs';

const status = buildIfStale();
if (status !== 0) process.exit(status);
process.argv.splice(2, 0, 'serve');
await import('../packages/server/bin/brickless.js');
