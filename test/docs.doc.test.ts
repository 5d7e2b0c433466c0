import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
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
 * The documentation test of the walkthroughs in docs/*.md: like the README's
 * (test/readme.doc.test.ts), every ```sh block runs as written, one after the other; each document
 * in its own fresh folder against its own fresh server, so a walkthrough starts from its own setup
 * block, not from what the README or another document left behind. A usage synopsis is a ```text
 * block; what cannot run on one machine is ```sh no-run, with the reason in the prose before it.
 */
const docs = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => {
    const file = `docs/${f}`;
    const text = readFileSync(join(root, file), 'utf8');
    return { file, text, blocks: shellBlocks(file, text) };
  });

describe('the docs/*.md walkthroughs run as written', () => {
  it('hold no unknown marker and no placeholder in a block to run', () => {
    assert.deepEqual(
      docs.flatMap((d) => d.blocks.problems),
      [],
    );
  });

  it('refuses an unknown marker and placeholders, naming the file and line', () => {
    const fence = '`'.repeat(3);
    const text = [
      '# Example',
      `${fence}sh run-later`,
      'echo hi',
      fence,
      `${fence}sh`,
      'npx brickless devices get DEVICE_ID',
      'npx brickless escrow deposit --recipient age1\u2026 --out escrow',
      'npx brickless devices get <serial>',
      'npx brickless devices list [--tag T]',
      fence,
      `${fence}sh no-run`,
      'ssh host.example systemctl restart brickless',
      fence,
      `${fence}text`,
      'brickless devices list [--tag T]',
      fence,
    ].join('\n');
    const blocks = shellBlocks('docs/example.md', text);
    assert.equal(blocks.run.length, 1);
    assert.equal(blocks.noRun.length, 1);
    const problems = blocks.problems.join('\n');
    assert.match(problems, /docs\/example\.md:2: unknown marker "sh run-later"/);
    assert.match(problems, /docs\/example\.md:6: an id placeholder/);
    assert.match(problems, /docs\/example\.md:7: an age recipient placeholder/);
    assert.match(problems, /docs\/example\.md:8: a <placeholder>/);
    assert.match(problems, /docs\/example\.md:9: an optional flag in brackets/);
    assert.doesNotMatch(problems, /:1[2-7]:/, 'no-run and text blocks are not checked');
  });

  it('see blocks indented inside a list step, without their indentation', () => {
    const fence = '`'.repeat(3);
    const text = [
      '1. Restore:',
      '',
      `   ${fence}sh`,
      '   npx brickless devices get SERIAL_ID',
      `   ${fence}`,
    ].join('\n');
    const blocks = shellBlocks('docs/example.md', text);
    assert.equal(blocks.run.length, 1);
    assert.equal(blocks.run[0]?.code, 'npx brickless devices get SERIAL_ID\n');
    assert.match(blocks.problems.join('\n'), /docs\/example\.md:4: an id placeholder/);
  });

  it('give a reason before every block marked sh no-run', () => {
    for (const { file, text, blocks } of docs) {
      for (const block of blocks.noRun) {
        const before = text
          .split('\n')
          .slice(Math.max(0, block.line - 4), block.line - 1)
          .join(' ');
        assert.match(before, /\S/, `${file}:${block.line}: no prose before a no-run block`);
      }
    }
  });

  for (const { file, blocks } of docs.filter((d) => d.blocks.run.length > 0)) {
    describe(file, () => {
      let server: DocServer | undefined;

      before(async () => {
        assertBuilt();
        server = await startDocServer('brickless-doc-');
      });

      after(() => {
        server?.stop();
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
  }
});
