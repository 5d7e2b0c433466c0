#!/usr/bin/env node
import { ApiError } from './cli/client.js';
import { buildProgram } from './cli/program.js';
import { DomainError } from './errors.js';

/**
 * The `brickless` command. Errors end as one clear line on stderr and a non-zero exit code;
 * BRICKLESS_DEBUG=1 adds the stack trace.
 */
async function main(): Promise<void> {
  try {
    const program = buildProgram();
    // Bare `brickless` shows what it can do; `brickless serve` (or `npm start`) runs the server.
    if (process.argv.length <= 2) program.outputHelp();
    else await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof ApiError) {
      process.stderr.write(`brickless: ${error.problem.detail}\n`);
    } else if (error instanceof DomainError) {
      process.stderr.write(`brickless: ${error.message}\n`);
    } else if ((error as NodeJS.ErrnoException).code === 'ENOENT' && (error as NodeJS.ErrnoException).path) {
      // A file named on the command line that is not there: say which one.
      process.stderr.write(
        `brickless: ${(error as NodeJS.ErrnoException).path}: no such file or directory\n`,
      );
    } else {
      process.stderr.write(`brickless: ${(error as Error).message ?? String(error)}\n`);
    }
    if (process.env.BRICKLESS_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    process.exitCode = 1;
  }
}

await main();
