import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as age from 'age-encryption';
import type { Config } from '../config.js';
import { endpointRecordBody, signEndpointRecord } from '../continuity/endpoints.js';
import { depositFromApp, recordDrill } from '../escrow/service.js';
import { loadMasterKey } from '../secrets/master-key.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities } from '../test-support/app.js';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';
import { initRepository, makerKeys } from '../test-support/updates.js';

/**
 * The continuity page (a real deposit on the timeline, the drill's figures, handover and a sunset
 * confirmed by keyboard) and the API docs page (operations, search, schemas, the device protocol)
 * in Chromium, on both databases; axe and screenshots on SQLite.
 */
for (const dialect of testDialects) {
  describe(`console: continuity and API docs (${dialect})`, { skip: consoleSkip }, () => {
    let h: ConsoleHarness;
    let work: string;
    let productId: string;
    let orgId: string;
    const keys = makerKeys();

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-console-continuity-'));
      h = await startConsole(dialect);
      orgId = (await h.t.org('acme')).id;
      const product = await h.t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart Plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      assert.equal(product.status, 201, product.raw);
      productId = product.body.id;
      await initRepository(h.t, 'acme', keys);
      // A real deposit, as `brickless escrow deposit` makes it, recorded in the platform audit chain.
      const masterKeyFile = join(work, 'master.key');
      loadMasterKey(masterKeyFile);
      const recipient = await age.identityToRecipient(await age.generateX25519Identity());
      const config = {
        dataDir: h.t.database.dataDir,
        database: h.t.database.url,
        secrets: { masterKeyFile },
      } as Config;
      await depositFromApp(h.t.app, config, join(work, 'escrow'), [recipient], 'cli:maker');
      // The drill takes minutes with its own servers; its result is recorded as `escrow drill` does.
      await recordDrill(
        h.t.app,
        {
          devices: 100,
          source: 'sqlite',
          target: 'postgres',
          deposit: { seconds: 2.4, rows: 12_345, megabytes: 6.2 },
          restoreSeconds: 8.1,
          firstReconnectSeconds: 0.9,
          reconnect99Seconds: 12.3,
          served99FromRestoreSeconds: 31.7,
          late: { devices: 5, backSeconds: 4 },
          reconnected: 100,
          reconnectedShare: 1,
          devicesLost: 0,
          rowsLost: 0,
          features: [
            { name: 'telemetry', ok: true, detail: '' },
            { name: 'signed update', ok: true, detail: '' },
          ],
          ok: true,
        },
        96.4,
        'cli:maker',
      );
    });
    after(async () => {
      await h?.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('shows the deposit timeline with its check, the drill figures and the handover state', async () => {
      const admin = await h.person('acme', ['admin'], 'ada');
      const page = await h.page();
      await h.signIn(page, admin);
      await page.click('nav.sidenav >> text=Continuity');
      await page.waitForSelector('h1:has-text("Continuity")');
      await page.waitForSelector('ol.timeline li.timeline-deposit');
      const deposit = (await page.textContent('ol.timeline li.timeline-deposit')) ?? '';
      assert.match(deposit, /Deposit #1/);
      assert.match(deposit, /verified: hash and signature hold/);
      // Who ran it, as an organisation sees it: the CLI, not the operator's login name.
      assert.match(deposit, /By\s*cli\s*$/);
      assert.doesNotMatch(deposit, /cli:maker/);
      assert.ok(await page.locator('ol.timeline time[datetime]').count(), 'times are machine-readable');
      assert.match((await page.textContent('.continuity-scope')) ?? '', /whole platform/);
      const drill = (await page.textContent('#drill >> xpath=../..')) ?? '';
      assert.match(drill, /passed/);
      assert.match(drill, /2 of 2 pass/);
      assert.match(drill, /31[.,]7 s/);
      assert.match(
        (await page.textContent('#handover >> xpath=../..')) ?? '',
        /No endpoint record is published/,
      );
      // The takeover readiness report: its figures, and the history that includes it.
      await page.waitForSelector('#readiness >> xpath=../.. >> table tbody tr');
      const readiness = (await page.textContent('#readiness >> xpath=../..')) ?? '';
      assert.match(readiness, /yes: 1 of the 2 root signatures needed/);
      assert.match(readiness, /passed .* days ago; 99 % served after 31[.,]7 s; 100 % of its devices moved/);
      const href = await page.getAttribute('#readiness >> xpath=../.. >> a[download]', 'href');
      const signed = await page.request.get(href as string);
      assert.equal(signed.status(), 200);
      assert.equal(signed.headers()['content-type'], 'application/zip');
      if (dialect === 'sqlite') {
        assert.deepEqual(await h.axe(page), [], 'the continuity page');
        await h.screenshot(page, 'continuity');
      }
      assert.deepEqual(h.problems, []);
    });

    it('sunsets a product through a keyboard-operated confirmation that says what devices will do', async () => {
      const admin = await h.person('acme', ['admin']);
      const page = await h.page();
      await h.signIn(page, admin);
      await page.goto('/continuity');
      const button = page.locator('button', { hasText: 'Sunset…' });
      await button.waitFor();
      // Escape leaves the dialog without a change and gives the focus back.
      await button.focus();
      await page.keyboard.press('Enter');
      await page.waitForSelector('dialog[open]');
      assert.match((await page.textContent('dialog[open]')) ?? '', /cannot be undone[\s\S]*Home Assistant/);
      if (dialect === 'sqlite') assert.deepEqual(await h.axe(page), [], 'the sunset dialog');
      await page.keyboard.press('Escape');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      await h.focused(page, { text: 'Sunset…' }, 'the focus goes back to the button that opened the dialog');

      await page.keyboard.press('Enter');
      await page.waitForSelector('dialog[open]');
      await h.focused(page, { id: 'sunset-record' }, 'the dialog takes the focus');
      const record = signEndpointRecord(
        endpointRecordBody({
          org: orgId,
          version: 1,
          issued: new Date().toISOString(),
          mode: 'local',
          products: [productId],
        }),
        [keys.root[0], keys.escrow] as never,
      );
      await page.keyboard.insertText(JSON.stringify(record));
      await page.keyboard.press('Tab');
      await page.keyboard.type('Acme stops its cloud on 1 March 2027. Your plug keeps working at home.');
      await page.keyboard.press('Tab');
      await page.keyboard.type('PLUG-2');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#sunset-confirm-error');
      assert.match((await page.textContent('#sunset-confirm-error')) ?? '', /does not match/);
      await page.focus('#sunset-confirm');
      await page.keyboard.press('Backspace');
      await page.keyboard.type('1');
      await page.keyboard.press('Enter');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      await page.waitForSelector('text=Smart Plug is sunset');
      await page.waitForSelector('td >> text=sunset (record version 1)');
      // The handover state reloads on its own after the sunset: wait for it, not only for the records.
      await page.waitForFunction(() =>
        /local mode \(sunset\)/.test(
          document.getElementById('handover')?.closest('section')?.textContent ?? '',
        ),
      );
      const handover = (await page.textContent('#handover >> xpath=../..')) ?? '';
      assert.match(handover, /local mode \(sunset\)/);
      assert.match(handover, /stop using any cloud/);
      const notice = await h.t.call('GET', `/public/orgs/acme/products/${productId}/end-of-support`, {
        token: null,
      });
      assert.equal(notice.status, 200, notice.raw);
      assert.deepEqual(h.problems, []);
    });

    it('an operator sees the handover but not the platform deposits, and no sunset action', async () => {
      const operator = await h.person('acme', ['operator']);
      const page = await h.page();
      await h.signIn(page, operator);
      await page.goto('/continuity');
      await page.waitForSelector('text=does not include reading it (audit:read)');
      await page.waitForSelector('td >> text=Smart Plug');
      assert.equal(await page.locator('ol.timeline li.timeline-deposit').count(), 0);
      assert.equal(await page.locator('button', { hasText: 'Sunset…' }).count(), 0);
      if (dialect === 'sqlite') assert.deepEqual(await h.axe(page), [], 'continuity for an operator');
      assert.deepEqual(h.problems, []);
    });

    it('lists the API operations by tag, filters them, expands a schema and renders the device protocol', async () => {
      const auditor = await h.person('acme', ['auditor']);
      const page = await h.page();
      await h.signIn(page, auditor);
      await page.click('nav.sidenav >> text=API docs');
      await page.waitForSelector('details.operation');
      const all = await page.locator('details.operation').count();
      assert.ok(all > 50, `${all} operations`);
      await page.waitForSelector('h3:has-text("continuity")');
      await page.focus('#docs-search');
      await page.keyboard.type('sunset');
      const sunsetOps = page.locator('details.operation');
      await page.waitForFunction((n) => document.querySelectorAll('details.operation').length < n, all);
      assert.ok((await sunsetOps.count()) >= 1);
      const summary = page.locator('details.operation summary', { hasText: '/sunset' }).first();
      await summary.focus();
      await page.keyboard.press('Enter');
      const body = page.locator('details.operation[open] .operation-body');
      await body.waitFor();
      assert.match((await body.textContent()) ?? '', /updates:manage/);
      assert.match((await body.textContent()) ?? '', /Request body/);
      // The body's root is open; a nested object opens on demand.
      const nested = body.locator('details.schema-node details.schema-node > summary').first();
      await nested.click();
      await page.waitForSelector('details.operation[open] details.schema-node details.schema-node[open]');
      const protocol = (await page.textContent('#device-protocol >> xpath=../..')) ?? '';
      assert.match(protocol, /brickless\/v1\/\{deviceId\}\/telemetry/);
      assert.match(protocol, /device → server/);
      if (dialect === 'sqlite') {
        assert.deepEqual(await h.axe(page), [], 'the API docs page, searched, an operation open');
        await page.evaluate(() =>
          document.querySelector('details.operation[open]')?.scrollIntoView({ block: 'start' }),
        );
        await h.screenshot(page, 'api-docs');
        await page.fill('#docs-search', '');
        assert.deepEqual(await h.axe(page), [], 'the API docs page, every operation');
      }
      await page.goto('/docs/continuity');
      await page.waitForSelector('h1:has-text("API docs: continuity")');
      assert.ok((await page.locator('details.operation').count()) < all);
      assert.deepEqual(h.problems, []);
    });

    it('speaks German and fits 360 px without sideways scrolling', async () => {
      const admin = await h.person('acme', ['admin']);
      const page = await h.page({ width: 360, height: 740, locale: 'de-DE' });
      await h.signIn(page, admin);
      for (const [path, heading] of [
        ['/continuity', 'Kontinuität'],
        ['/docs', 'API-Dokumentation'],
      ] as const) {
        await page.goto(path);
        await page.waitForSelector(`h1:has-text("${heading}")`);
        await page.waitForLoadState('networkidle');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        const wide = await page.evaluate(() =>
          [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 8)
            .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
        );
        assert.ok(overflow <= 0, `${path}: ${overflow} px sideways ${wide.join(' | ')}`);
        if (dialect === 'sqlite') assert.deepEqual(await h.axe(page), [], `${path} German, 360 px`);
      }
      assert.match((await page.content()) ?? '', /Geräteprotokoll/);
      assert.deepEqual(h.problems, []);
    });
  });
}
