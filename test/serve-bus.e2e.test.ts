import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  freePort,
  startNatsServer,
  type TestNatsServer,
} from '../packages/server/src/test-support/nats-server.js';
import { assertBuilt, brickless, startServer } from './support/cli.js';

/** Issue 19 §1: `serve --bus` (config bus.url): a NATS bus, named in the banner; a bad URL says how to fix it. */
describe('brickless serve --bus', () => {
  let dir: string;
  let nats: TestNatsServer;
  before(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'brickless-serve-bus-'));
    nats = await startNatsServer();
  });
  after(async () => {
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a URL that is not a NATS URL, naming the flag and how to write it', async () => {
    const result = await brickless(['--data-dir', dir, 'serve', '--bus', 'localhost:4222']);
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      /config: bus\.url localhost:4222 is not a NATS server URL \(localhost:\/\/\): write nats:\/\/host:4222 .*\(from --bus\)/,
    );
    const env = await brickless(['--data-dir', dir, 'serve'], {
      env: { BRICKLESS_BUS_URL: 'http://h:4222' },
    });
    assert.equal(env.code, 1);
    assert.match(
      env.stderr,
      /bus\.url http:\/\/h:4222 is not a NATS server URL .*\(from BRICKLESS_BUS_URL\)/,
    );
  });

  it('stops with what to do when no NATS server answers', async () => {
    const port = await freePort();
    const result = await brickless([
      '--data-dir',
      dir,
      'serve',
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--bus',
      `nats://127.0.0.1:${port}`,
    ]);
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      new RegExp(
        `could not connect to the NATS bus at nats://127\\.0\\.0\\.1:${port}: .*apt-get install nats-server`,
      ),
    );
  });

  it('runs on a NATS bus and names it in the banner, without the credentials', async () => {
    const server = await startServer([
      '--data-dir',
      dir,
      '--bus',
      `nats://someone:pw-hunter2@127.0.0.1:${nats.port}`,
    ]).catch((error: Error) => error);
    // The server is started without auth: credentials in the URL are sent and accepted.
    assert.ok(!(server instanceof Error), String(server));
    try {
      assert.match(
        server.output(),
        new RegExp(`Bus:\\s+NATS nats://127\\.0\\.0\\.1:${nats.port} \\(subjects brickless\\.default\\.>\\)`),
      );
      assert.ok(!server.output().includes('pw-hunter2'), 'the password is not printed');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
