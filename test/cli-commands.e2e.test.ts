import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import { loadDepositKey } from '../packages/server/src/escrow/signing.js';
import { freshDatabase, type TestDatabase } from '../packages/server/src/store/test-helper.js';
import { startTestIdp } from '../packages/server/src/test-support/oidc-provider.js';
import { assertBuilt, brickless, bricklessJson, root, type Server, startServer } from './support/cli.js';

const data = join(root, 'test', 'data');
const fixtures = join(root, 'packages', 'server', 'src', 'vulnerabilities', 'fixtures');

/** `brickless ARGS` that must succeed; returns its output. */
async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  const result = await brickless(args, env ? { env } : {});
  assert.equal(result.code, 0, `brickless ${args.join(' ')}: ${result.stderr}`);
  return result;
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/**
 * Issue 15 §2: every command runs for real at least once, here or in another end-to-end test
 * (a full run fails naming any command no test ran: test/support/cli-coverage.ts). One data dir
 * and one server for the whole file; the commands' storage behaviour is tested per dialect in
 * the other end-to-end tests, this file is about what people type and what they read back.
 */
describe('every brickless command, as people type it', () => {
  let db: TestDatabase;
  let server: Server & { url: string };
  let base: string[];
  let remote: string[];
  let caFile: string;
  const ids: Record<string, string> = {};
  const file = (name: string) => join(db.dataDir, 'work', name);

  before(async () => {
    assertBuilt();
    db = await freshDatabase('sqlite');
    mkdirSync(join(db.dataDir, 'work'));
    base = ['--data-dir', db.dataDir, '--database', db.url];
    // A low connect rate, so that `simulate` meets the gateway's refusals (and retries them).
    server = await startServer([...base], {
      BRICKLESS_MQTT_CONNECTS_PER_SECOND: '2',
      BRICKLESS_MQTT_CONNECT_BURST: '2',
    });
    const token = /^\s+(bkl_[A-Za-z0-9_-]{43})$/m.exec(server.output())?.[1];
    assert.ok(token, server.output());
    caFile = join(db.dataDir, 'tls', 'ca.crt');
    remote = ['--server', server.url, '--token', token, '--ca', caFile];
    await ok([...base, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme GmbH']);
  });
  after(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await db.drop();
  });

  it('tells people what to do: help, the closest command, and how to fix a connection', async () => {
    const bare = await brickless([]);
    assert.equal(bare.code, 0, 'bare brickless prints help, it does not serve');
    assert.match(bare.stdout, /Usage: brickless/);
    assert.match(bare.stdout, /^\s+serve \[options\]\s+run the server/m);
    const typo = await brickless([...base, 'devicez', 'list']);
    assert.notEqual(typo.code, 0);
    assert.match(typo.stderr, /unknown command 'devicez'/);
    assert.match(typo.stderr, /Did you mean devices\?/);
    const sub = await brickless([...base, 'devices', 'lst']);
    assert.match(sub.stderr, /unknown command 'lst'[\s\S]*Did you mean list\?/);

    const port = new URL(server.url).port;
    const plain = await brickless(['--server', `http://localhost:${port}`, '--token', 'x', 'whoami']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, new RegExp(`speaks HTTPS: use --server https://localhost:${port}`));
    const untrusted = await brickless([
      '--data-dir',
      file('elsewhere'),
      '--server',
      server.url,
      '--token',
      'x',
      'whoami',
    ]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /not trusted .*--ca data\/tls\/ca\.crt/);
    assert.match((await ok([...remote, 'whoami'])).stdout, /platform-admin/);
    const noCa = await brickless([...remote.slice(0, 4), '--ca', file('no-such-ca.crt'), 'whoami']);
    assert.match(noCa.stderr, /no-such-ca\.crt: no such file/);
    const nobody = await brickless(['--server', 'https://127.0.0.1:1', '--token', 'x', 'whoami']);
    assert.match(nobody.stderr, /nothing listens there/);
    const missing = await brickless([...base, 'keys', 'public', file('no-such-key.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no-such-key\.json/);
  });

  it('organisations, brands, products, devices and tokens, with names in the tables', async () => {
    await ok([...remote, 'orgs', 'create', '--slug', 'beta', '--name', 'Beta Ltd']);
    const ambiguous = await brickless([...remote, 'devices', 'list']);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /several organisations exist \(acme, beta\): pass --org/);
    // The public security.txt keeps answering with a second organisation: the first one's.
    const securityTxt = await get(`${server.url}/.well-known/security.txt`, readFileSync(caFile, 'utf8'));
    assert.equal(securityTxt.status, 200, securityTxt.body);
    assert.match(securityTxt.body, /Acme GmbH/);
    assert.match((await ok([...remote, 'orgs', 'list'])).stdout, /beta/);
    assert.equal((await bricklessJson([...remote, 'orgs', 'get', 'beta'])).name, 'Beta Ltd');
    assert.equal((await bricklessJson([...remote, 'orgs', 'update', 'beta', '--name', 'Beta'])).name, 'Beta');
    await ok([...remote, 'orgs', 'delete', 'beta']);

    const org = [...remote, '--org', 'acme'];
    ids.brand = (
      await bricklessJson([
        ...org,
        'brands',
        'create',
        '--name',
        'Acme Home',
        '--responsible-party',
        'Acme GmbH',
        '--security-contact',
        'mailto:psirt@acme.example',
      ])
    ).id;
    const spare = await bricklessJson([
      ...org,
      'brands',
      'create',
      '--name',
      'Spare',
      '--responsible-party',
      'Acme GmbH',
      '--security-contact',
      'mailto:psirt@acme.example',
    ]);
    assert.match((await ok([...org, 'brands', 'list'])).stdout, /Acme Home/);
    assert.equal((await bricklessJson([...org, 'brands', 'get', spare.id])).name, 'Spare');
    assert.equal(
      (await bricklessJson([...org, 'brands', 'update', spare.id, '--name', 'Spare 2'])).name,
      'Spare 2',
    );
    await ok([...org, 'brands', 'delete', spare.id]);

    writeFileSync(
      file('caps.json'),
      JSON.stringify({ telemetry: { power: { schema: { type: 'number' }, unit: 'W' } } }),
    );
    const product = (model: string) => [
      ...org,
      'products',
      'create',
      '--model',
      model,
      '--name',
      'Smart plug',
      '--revision',
      'A',
      '--support-ends',
      '2033-01-01',
      '--brand',
      ids.brand as string,
      '--capabilities',
      file('caps.json'),
    ];
    ids.product = (await bricklessJson(product('PLUG-1'))).id;
    ids.lamp = (await bricklessJson(product('LAMP-1'))).id;
    const gone = (await bricklessJson(product('GONE-1'))).id;
    assert.equal(
      (await bricklessJson([...org, 'products', 'get', ids.product as string])).modelNumber,
      'PLUG-1',
    );
    const renamed = await bricklessJson([...org, 'products', 'update', ids.lamp as string, '--name', 'Lamp']);
    assert.equal(renamed.name, 'Lamp');
    await ok([...org, 'products', 'delete', gone]);

    ids.device = (
      await bricklessJson([
        ...org,
        'devices',
        'create',
        '--product',
        ids.product as string,
        '--serial',
        'SN-1',
        '--firmware',
        '1.2.0',
      ])
    ).id;
    const table = (await ok([...org, 'devices', 'list'])).stdout;
    assert.match(table, /SN-1/);
    assert.match(table, /PLUG-1 \(Smart plug\)/, 'the product model, not its id');
    assert.match(table, /Acme Home/, 'the brand name');
    assert.match(table, /no, never seen/);
    assert.doesNotMatch(table, /dev_|prd_|brd_/, 'ids only with --wide or --json');
    assert.ok((await ok([...org, 'devices', 'list', '--wide'])).stdout.includes(ids.device as string));
    assert.deepEqual((await bricklessJson([...org, 'devices', 'events', ids.device as string])).items, []);

    const token = await bricklessJson([...org, 'admin', 'token', 'create', '--role', 'auditor']);
    const tokens = (await ok([...org, 'admin', 'token', 'list'])).stdout;
    assert.doesNotMatch(tokens, /tok_/, 'token ids only with --wide');
    assert.ok((await ok([...org, 'admin', 'token', 'list', '--wide'])).stdout.includes(token.record.id));
    assert.match(
      (await ok([...org, 'admin', 'token', 'revoke', token.record.id])).stdout,
      /revoked token tok_/,
    );
  });

  it('people: the setup link at first start, invite, list, roles and remove', async () => {
    const link = /^\s+(https:\/\/\S+\/invitation#([A-Za-z0-9_-]{43}))$/m.exec(server.output());
    assert.ok(link, `the first start prints a setup link: ${server.output()}`);
    const post = (path: string, payload: unknown) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.request(
          `${server.url}${path}`,
          {
            method: 'POST',
            ca: readFileSync(caFile, 'utf8'),
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              body += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(payload));
      });
    const first = await post(`/v1/auth/invitations/${link[2]}/accept`, {
      email: 'founder@acme.example',
      password: 'the very first administrator',
    });
    assert.equal(first.status, 200, first.body);
    const org = [...remote, '--org', 'acme'];
    const invited = await bricklessJson([
      ...org,
      'people',
      'invite',
      '--email',
      'rita@acme.example',
      '--role',
      'release-manager,auditor',
    ]);
    assert.match(invited.url, /\/invitation#[A-Za-z0-9_-]{43}$/);
    const human = await ok([
      ...org,
      'people',
      'invite',
      '--email',
      'otto@acme.example',
      '--role',
      'operator',
    ]);
    assert.match(human.stdout, /invited otto@acme\.example as operator; the link works once, until /);
    const accepted = await post(`/v1/auth/invitations/${invited.token}/accept`, {
      password: 'ships releases on time',
    });
    assert.equal(accepted.status, 200, accepted.body);
    const list = (await ok([...org, 'people', 'list'])).stdout;
    assert.match(list, /rita@acme\.example/);
    assert.match(list, /auditor, release-manager/);
    assert.match((await ok([...remote, 'people', 'list', '--platform'])).stdout, /founder@acme\.example/);
    assert.match(
      (await ok([...remote, 'people', 'roles'])).stdout,
      /release-manager\s+│ fleet:read, releases:write/,
    );
    assert.match(
      (await ok([...org, 'people', 'roles', 'rita@acme.example'])).stdout,
      /auditor, release-manager/,
    );
    const set = await ok([...org, 'people', 'roles', 'rita@acme.example', '--set', 'security']);
    assert.match(set.stdout, /rita@acme\.example now holds security/);
    const bad = await brickless([...org, 'people', 'roles', 'rita@acme.example', '--set', 'wizard']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown role "wizard": admin, operator, release-manager, security or auditor/);
    assert.match(
      (await ok([...org, 'people', 'remove', 'rita@acme.example'])).stdout,
      /removed rita@acme\.example/,
    );
    assert.doesNotMatch((await ok([...org, 'people', 'list'])).stdout, /rita@/);
  });

  it('update keys: init says loudly when no escrow covers them, until a root names an escrow key', async () => {
    const org = [...remote, '--org', 'acme'];
    for (const name of ['root', 'targets', 'escrow'])
      await ok([
        ...org,
        'keys',
        'generate',
        '--out',
        file(`${name}.key`),
        '--public-out',
        file(`${name}.pub`),
      ]);
    const pub = await bricklessJson([...org, 'keys', 'public', file('escrow.key')]);
    assert.deepEqual(pub, JSON.parse(readFileSync(file('escrow.pub'), 'utf8')));

    const init = await ok([
      ...org,
      'updates',
      'init',
      '--root-key',
      file('root.key'),
      '--targets-key',
      file('targets.pub'),
    ]);
    assert.match(init.stdout, /published root version 1/);
    assert.match(init.stderr, /WARNING: the update keys of acme are not covered by any escrow/);
    assert.match((await ok([...org, 'updates', 'status'])).stderr, /not covered by any escrow/);
    const agent = await bricklessJson([...base, 'escrow', 'keygen', '--out', file('agent.key')]);
    const deposit = [...base, 'escrow', 'deposit', '--recipient', agent.recipient, '--out', file('escrow')];
    await ok(deposit);
    const gap = await brickless([...base, 'escrow', 'verify', file('escrow')]);
    assert.match(gap.stderr, /WARNING: the update keys of acme are not covered by any escrow/);

    await ok([
      ...org,
      'updates',
      'root',
      'draft',
      '--escrow-key',
      file('escrow.pub'),
      '--out',
      file('root-2.json'),
    ]);
    assert.match(
      (await ok([...org, 'updates', 'root', 'sign', file('root-2.json'), '--key', file('root.key')])).stdout,
      /1 signature/,
    );
    assert.match(
      (await ok([...org, 'updates', 'root', 'publish', file('root-2.json')])).stdout,
      /published root version 2/,
    );
    const status = await ok([...org, 'updates', 'status']);
    assert.doesNotMatch(status.stderr, /not covered by any escrow/, 'the gap is closed');
    await ok(deposit);
    const closed = await bricklessJson([...base, 'escrow', 'verify', file('escrow')]);
    assert.deepEqual(closed.escrowGaps, [], 'and the next deposit says so');
    assert.match(status.stdout, /escrow\s+\w+/);
    const exported = await bricklessJson([
      ...org,
      'updates',
      'root',
      'export',
      '--root-version',
      '1',
      '--out',
      file('root-1.json'),
    ]);
    assert.equal(exported.version, 1);

    await ok([...org, 'updates', 'targets', 'draft', '--out', file('targets.json')]);
    const published = await brickless([...org, 'updates', 'targets', 'publish', file('targets.json')]);
    assert.match(`${published.stdout}${published.stderr}`, /targets version 1|signature/);
  });

  it('releases, SBOMs and rollouts', async () => {
    const org = [...remote, '--org', 'acme'];
    const release = (version: string, extra: string[]) => {
      writeFileSync(file(`fw-${version}.bin`), `firmware ${version}`);
      return bricklessJson([
        ...org,
        'release',
        'create',
        version,
        '--product',
        ids.product as string,
        '--file',
        file(`fw-${version}.bin`),
        '--kind',
        'security',
        '--security-version',
        '1',
        ...extra,
      ]);
    };
    ids.release = (await release('1.2.0', ['--sbom', join(fixtures, 'firmware-1.2.0.cdx.json')])).id;
    ids.release2 = (await release('1.3.0', [])).id;
    const imported = await bricklessJson([
      ...org,
      'sbom',
      'import',
      ids.release2 as string,
      join(fixtures, 'firmware-1.3.0.cdx.json'),
    ]);
    assert.ok(imported.componentCount > 0, JSON.stringify(imported));
    assert.ok((await bricklessJson([...org, 'sbom', 'components', ids.release as string])).items.length > 0);
    await ok([...org, 'sbom', 'export', ids.release as string, '--out', file('sbom.json')]);
    assert.ok(JSON.parse(readFileSync(file('sbom.json'), 'utf8')));
    await ok([...org, 'release', 'sign', '--key', file('targets.key'), '--yes']);

    const rollout = await bricklessJson([...org, 'rollout', 'create', '--release', ids.release2 as string]);
    assert.match((await ok([...org, 'rollout', 'list'])).stdout, /1\.3\.0|rol_|running|pending/);
    assert.equal((await bricklessJson([...org, 'rollout', 'pause', rollout.id])).status, 'paused');
    assert.notEqual((await bricklessJson([...org, 'rollout', 'resume', rollout.id])).status, 'paused');
    assert.equal((await bricklessJson([...org, 'rollout', 'cancel', rollout.id])).status, 'cancelled');
    // The fleet here never connected: `rollout watch` without a terminal prints one line per change
    // and ends once only offline devices are left, saying how to end the rollout (issue 15 §1).
    const waiting = await bricklessJson([...org, 'rollout', 'create', '--release', ids.release2 as string]);
    const watched = await brickless([...org, 'rollout', 'watch', waiting.id, '--interval', '1']);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /rollout rol_\w+ running, wave 1\/\d+: .* [1-9]\d* offline$/m);
    assert.match(watched.stderr, /only offline devices are left \(\d+\): .*brickless rollout complete rol_/);
    assert.equal((await bricklessJson([...org, 'rollout', 'cancel', waiting.id])).status, 'cancelled');
    // A second rollout of the same release is ended by the maker: completed, with the devices
    // not yet offered the release left out (issue 15 §1).
    const second = await bricklessJson([...org, 'rollout', 'create', '--release', ids.release2 as string]);
    const completed = await bricklessJson([...org, 'rollout', 'complete', second.id]);
    assert.equal(completed.status, 'completed', JSON.stringify(completed));
    const again = await brickless([...org, 'rollout', 'complete', second.id]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /completed rollout cannot be completed/);
  });

  it('vulnerabilities, advisories, reports and disclosures', async () => {
    const org = [...remote, '--org', 'acme'];
    await ok([
      ...org,
      'vulns',
      'import',
      join(data, 'nvd'),
      join(data, 'kev', 'known_exploited_vulnerabilities.json'),
    ]);
    assert.match((await ok([...org, 'vulns', 'show', 'CVE-2022-0847'])).stdout, /CVE-2022-0847/);
    const onDevice = await bricklessJson([...org, 'vulns', 'device', ids.device as string]);
    assert.ok(Array.isArray(onDevice.vulnerabilities));
    await ok([...org, 'vulns', 'rematch']);
    await ok([...org, 'vulns', 'coverage', 'CVE-2022-0847']);
    const sync = await brickless([...org, 'vulns', 'sync']);
    assert.match(`${sync.stdout}${sync.stderr}`, /feed/i);
    // Reported as actively exploited in a product: the cases it opened (none new: KEV opened one).
    const exploited = await bricklessJson([
      ...org,
      'vulns',
      'exploited',
      'CVE-2022-0847',
      '--product',
      ids.product as string,
    ]);
    assert.ok(Array.isArray(exploited.items), JSON.stringify(exploited));
    const remediate = await brickless([
      ...org,
      'vulns',
      'remediate',
      'CVE-2022-0847',
      '--release',
      ids.release2 as string,
    ]);
    assert.match(`${remediate.stdout}${remediate.stderr}`, /CVE-2022-0847|rollout|release/i);

    const advisory = await bricklessJson([
      ...org,
      'advisory',
      'create',
      '--vulnerability',
      'CVE-2022-0847',
      '--product',
      ids.product as string,
      '--title',
      'Dirty Pipe in the plug',
    ]);
    await ok([...org, 'advisory', 'list']);
    assert.ok(JSON.stringify(await bricklessJson([...org, 'advisory', 'list'])).includes(advisory.id));
    assert.equal((await bricklessJson([...org, 'advisory', 'get', advisory.id])).id, advisory.id);
    // Direct mode: validating the CSAF document can outlast remote mode's 30 s on a busy machine.
    // Publishing names the documents by the public HTTPS address; a server known as localhost refuses.
    await ok(
      [...base, '--org', 'acme', 'advisory', 'publish', advisory.id, '--summary', 'Update to 1.3.0.'],
      {
        BRICKLESS_PUBLIC_URL: 'https://iot.acme.example',
      },
    );

    const incident = await bricklessJson([
      ...org,
      'reports',
      'incident',
      '--product',
      ids.product as string,
      '--title',
      'Cloud outage',
    ]);
    assert.equal((await bricklessJson([...org, 'reports', 'get', incident.id])).id, incident.id);
    await ok([
      ...org,
      'security-contact',
      '--contact',
      'mailto:psirt@acme.example',
      '--policy',
      'https://acme.example/security',
    ]);

    // A researcher reports through the public intake, then writes through their tracking link.
    const publicPost = (path: string, type: string, payload: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.request(
          `${server.url}${path}`,
          { method: 'POST', ca: readFileSync(caFile, 'utf8'), headers: { 'content-type': type } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              body += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    const form = new URLSearchParams({ title: 'The plug accepts any password', description: 'Steps…' });
    const sent = await publicPost(
      '/public/orgs/acme/report',
      'application/x-www-form-urlencoded',
      form.toString(),
    );
    assert.equal(sent.status, 201, `report accepted: ${sent.body}`);
    const secret = /reports&#47;([A-Za-z0-9_-]{43})"/.exec(sent.body)?.[1];
    assert.ok(secret, sent.body);
    const asked = await publicPost(
      `/public/reports/${secret}/messages`,
      'application/json',
      JSON.stringify({ message: 'Can you reproduce it?' }),
    );
    assert.equal(asked.status, 201, asked.body);
    const disclosures = await bricklessJson([...org, 'disclosures', 'list']);
    assert.equal(disclosures.items.length, 1);
    await ok([...org, 'disclosures', 'update', disclosures.items[0].id, '--status', 'triaging']);
    const reply = await bricklessJson([
      ...org,
      'disclosures',
      'reply',
      disclosures.items[0].id,
      '--message',
      'Yes, reproduced; a fix is on its way.',
    ]);
    assert.equal(reply.from, 'maker');
    const thread = await ok([...org, 'disclosures', 'messages', disclosures.items[0].id]);
    assert.match(thread.stdout, /researcher {2}researcher:dsc_\w+\n {2}Can you reproduce it\?/);
    assert.match(thread.stdout, /maker .*\n {2}Yes, reproduced; a fix is on its way\./);
  });

  it('evidence pack by model number, verified offline; one changed byte fails naming the file', async () => {
    const pack = file('evidence.zip');
    const written = await ok([
      ...remote,
      '--org',
      'acme',
      'evidence',
      'pack',
      '--product',
      'PLUG-1',
      '--out',
      pack,
    ]);
    assert.match(written.stdout, /wrote .*evidence\.zip .*signed by the organisation's key/);
    // The key the server signs with: the organisation's evidence key, which the maker publishes.
    const shown = await ok([...remote, '--org', 'acme', 'evidence', 'key']);
    assert.match(shown.stdout, /^evidence key [A-Za-z0-9_-]{43} \(since /);
    assert.match(shown.stdout, /in use/);
    const key = (await bricklessJson([...remote, '--org', 'acme', 'evidence', 'key'])).publicKey as string;
    const verified = await ok(['evidence', 'verify', pack, '--key', key]);
    assert.match(verified.stdout, /^ok: \d+ files match the manifest, signed by/m);
    const files = unzipSync(readFileSync(pack));
    const product = files['product.json'] as Uint8Array;
    product[5] = (product[5] as number) ^ 1;
    const changed = file('evidence-changed.zip');
    writeFileSync(changed, zipSync(files));
    const refused = await brickless(['evidence', 'verify', changed, '--key', key]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /FAILED product\.json: its SHA-256 differs from the manifest/);
    // A pack of one release: the newest of the product, verified the same way.
    const releasePack = file('evidence-release.zip');
    await ok([
      ...remote,
      '--org',
      'acme',
      'evidence',
      'pack',
      '--product',
      'PLUG-1',
      '--release',
      'latest',
      '--out',
      releasePack,
    ]);
    const released = await ok(['evidence', 'verify', releasePack, '--key', key, '--json']);
    assert.equal(JSON.parse(released.stdout).ok, true, released.stdout);
    const releaseManifest = JSON.parse(
      Buffer.from(unzipSync(readFileSync(releasePack))['manifest.json'] as Uint8Array).toString('utf8'),
    );
    assert.match(releaseManifest.release.id, /^rel_/);
    // After a rotation the next pack is signed by the new key and still verifies against the old one.
    const rotated = await ok([...remote, '--org', 'acme', 'evidence', 'rotate-key']);
    assert.match(rotated.stdout, /^evidence key rotated to [A-Za-z0-9_-]{43}/);
    assert.match(rotated.stdout, /retired|RETIRED/);
    const afterRotation = file('evidence-rotated.zip');
    await ok([...remote, '--org', 'acme', 'evidence', 'pack', '--product', 'PLUG-1', '--out', afterRotation]);
    const followed = await ok(['evidence', 'verify', afterRotation, '--key', key, '--json']);
    assert.equal(JSON.parse(followed.stdout).ok, true, followed.stdout);
    assert.notEqual(JSON.parse(followed.stdout).signedBy, key);
  });

  it('continuity readiness: the report, signed and verified offline like the pack, and its history', async () => {
    const org = [...remote, '--org', 'acme'];
    const shown = await ok([...org, 'continuity', 'readiness', '--max-age-hours', '48']);
    assert.match(shown.stdout, /^Takeover readiness of Acme GmbH \(acme\)/);
    assert.match(shown.stdout, /agreed interval\s+48 h \(option\)/);
    assert.match(shown.stdout, /a successor would still need/);
    const report = file('readiness.zip');
    const written = await ok([...org, 'continuity', 'readiness', '--out', report]);
    assert.match(written.stdout, /wrote .*readiness\.zip, signed by deposit key/);
    const key = loadDepositKey(db.dataDir, { create: false }).publicKey;
    const verified = await ok(['evidence', 'verify', report, '--key', key]);
    assert.match(verified.stdout, /^ok: 1 files match the manifest/m);
    const files = unzipSync(readFileSync(report));
    const json = files['readiness.json'] as Uint8Array;
    json[5] = (json[5] as number) ^ 1;
    const changed = file('readiness-changed.zip');
    writeFileSync(changed, zipSync(files));
    const refused = await brickless(['evidence', 'verify', changed, '--key', key]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /FAILED readiness\.json: its SHA-256 differs from the manifest/);
    const history = await ok([...org, 'continuity', 'readiness', '--history', '--limit', '5']);
    assert.match(history.stdout, /deposit age/);
    const series = await bricklessJson([...org, 'continuity', 'readiness', '--history']);
    assert.ok(series.items.length >= 2, JSON.stringify(series));
  });

  it('simulate counts a refused attempt apart from a device that never got in', async () => {
    const org = [...remote, '--org', 'acme'];
    const mqttPort = /MQTT:\s+mqtts:\/\/localhost:(\d+)/.exec(server.output())?.[1] as string;
    const batch = file('sim.jsonl');
    await bricklessJson([
      ...org,
      'devices',
      'provision',
      '--product',
      ids.product as string,
      '--serial-prefix',
      'SIM-',
      '--count',
      '6',
      '--out',
      batch,
    ]);
    // One more line whose secret the server never issued: refused every time.
    const first = JSON.parse(readFileSync(batch, 'utf8').split('\n')[0] as string);
    writeFileSync(
      batch,
      `${readFileSync(batch, 'utf8')}${JSON.stringify({ ...first, secret: 'bds_wrong' })}\n`,
    );
    const run = await brickless([
      ...org,
      'simulate',
      '--batch',
      batch,
      '--url',
      `mqtts://127.0.0.1:${mqttPort}`,
      '--interval',
      '1s',
      '--duration',
      '12s',
      '--json',
    ]);
    assert.equal(run.code, 1, 'a device that never connected fails the run');
    const stats = JSON.parse(run.stdout);
    assert.equal(stats.devices, 7);
    // The six good devices all got in, some only after the gateway's rate limit refused them once.
    assert.equal(stats.connected, 6, run.stdout);
    assert.equal(stats.failedToConnect, 1);
    assert.ok(stats.connectedAfterRetry >= 1, run.stdout);
    assert.ok(stats.refusedAttempts >= stats.connectedAfterRetry + 1, run.stdout);
  });

  it('sso set, show and remove against a real OpenID provider', async () => {
    const idp = await startTestIdp(`${server.url}/v1/auth/sso/callback`);
    try {
      const org = [...remote, '--org', 'acme'];
      writeFileSync(file('client-secret'), `${idp.clientSecret}\n`);
      const common = ['--client-id', idp.clientId, '--client-secret-file', file('client-secret')];
      const nobody = await brickless([
        ...org,
        'sso',
        'set',
        '--issuer',
        'http://127.0.0.1:1',
        ...common,
        '--map',
        'ops=operator',
      ]);
      assert.equal(nobody.code, 1);
      assert.match(nobody.stderr, /does not answer with an OpenID Connect discovery document/);
      const badMap = await brickless([
        ...org,
        'sso',
        'set',
        '--issuer',
        idp.issuer,
        ...common,
        '--map',
        'ops',
      ]);
      assert.match(badMap.stderr, /write GROUP=role\[,role\]/);
      const set = await ok([
        ...org,
        'sso',
        'set',
        '--issuer',
        idp.issuer,
        ...common,
        '--map',
        'ops=operator',
        '--map',
        'leads=operator,admin',
        '--scope',
        'openid',
        '--scope',
        'email',
        '--scope',
        'groups',
      ]);
      assert.match(
        set.stdout,
        /register this redirect URI at the provider: https:\/\/\S+\/v1\/auth\/sso\/callback/,
      );
      const shown = await bricklessJson([...org, 'sso', 'show']);
      assert.deepEqual(shown.groupRoles, { ops: ['operator'], leads: ['admin', 'operator'] });
      assert.deepEqual(shown.scopes, ['openid', 'email', 'groups']);
      assert.ok(!JSON.stringify(shown).includes(idp.clientSecret), 'the secret is never shown');
      assert.match((await ok([...org, 'sso', 'show'])).stdout, /leads → admin, operator/);
      assert.match(
        (await ok([...org, 'sso', 'remove'])).stdout,
        /single sign-on with http:\/\/127\.0\.0\.1:\d+\/ is off/,
      );
      const gone = await brickless([...org, 'sso', 'show']);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /not found/);
    } finally {
      await idp.close();
    }
  });

  it('handover and sunset with --successor-ca and the root key, in direct and remote mode', async () => {
    const org = [...remote, '--org', 'acme'];
    const created = await ok([
      ...org,
      'handover',
      'create',
      '--mqtt-url',
      'mqtts://new.example:8883',
      '--http-url',
      'https://new.example:8443',
      '--successor-ca',
      caFile,
      '--key',
      file('root.key'),
      '--out',
      file('record.json'),
    ]);
    assert.match(created.stdout, /endpoint record version 1 .*1 signature/);
    await ok([...org, 'handover', 'sign', file('record.json'), '--key', file('escrow.key')]);
    const published = await ok([...remote, 'handover', 'publish', file('record.json')]);
    assert.match(published.stdout, /published/);
    assert.match((await ok([...org, 'handover', 'status'])).stdout, /version 1 \(cloud\)/);
    assert.match((await ok([...org, 'handover', 'list'])).stdout, /new\.example/);
    const sunset = await ok([
      ...org,
      'sunset',
      '--product',
      ids.lamp as string,
      '--key',
      file('root.key'),
      '--message',
      'The lamp service ends; the lamp keeps working on your network.',
    ]);
    assert.match(sunset.stdout, /local mode/);
  });
});
