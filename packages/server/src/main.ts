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
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof ApiError) {
      process.stderr.write(`brickless: ${error.problem.detail}\n`);
    } else if (error instanceof DomainError) {
      process.stderr.write(`brickless: ${error.message}\n`);
    } else {
      process.stderr.write(`brickless: ${(error as Error).message ?? String(error)}\n`);
    }
    if (process.env.BRICKLESS_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    process.exitCode = 1;
  }
}

await main();
