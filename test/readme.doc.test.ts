import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertBuilt, root } from './support/cli.js';
import {
  BLOCK_TIMEOUT_MS,
  type DocServer,
  firstCommand,
  runBlock,
  shellBlocks,
  startDocServer,
} from './support/doc-blocks.js';

/**
 * The documentation test of README.md: every ```sh block runs as written, one after the other,
 * against a real server in a fresh folder (test/support/doc-blocks.ts says how). A block marked
 * ```sh no-run is not run: only the `npm ci && npm start` block, which this test stands in for.
 * The walkthroughs in docs/*.md have their own test (test/docs.doc.test.ts).
 */
describe('the README runs as written', () => {
  let server: DocServer | undefined;

  before(async () => {
    assertBuilt();
    server = await startDocServer('brickless-readme-');
  });

  after(() => {
    server?.stop();
  });

  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = shellBlocks('README.md', readme);

  it('has blocks to run, no placeholders, and marks only the start block not to be run', () => {
    assert.deepEqual(blocks.problems, []);
    assert.ok(blocks.run.length >= 6, `${blocks.run.length} blocks`);
    assert.equal(blocks.noRun.length, 1);
  });

  for (const block of blocks.run) {
    it(`${block.file}:${block.line} ${firstCommand(block)}`, {
      timeout: BLOCK_TIMEOUT_MS + 10_000,
    }, async () => {
      assert.ok(server, 'the server started');
      const result = await runBlock(block, server);
      assert.equal(
        result.code,
        0,
        `${block.file}:${block.line} exited ${result.code}:\n${result.out}\n--- the server's log, last lines:\n${server.log().slice(-4000)}`,
      );
    });
  }
});
