import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BricklessDevice } from '@brickless/device';
import type { Page } from 'playwright-core';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities } from '../test-support/app.js';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';
import { startTlsGateway } from '../test-support/mqtt.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';

/**
 * Releases and rollouts in the console (issue 17), in real Chromium against the real server, with
 * real devices (the device SDK over MQTT) that verify, install and report: a release manager starts
 * a rollout in the form and watches it complete without reloading, pauses and resumes another and
 * reads why a device failed; the release page shows what waits for the offline targets key.
 */
for (const dialect of testDialects) {
  describe(`releases and rollouts in the console (${dialect})`, { skip: consoleSkip }, () => {
    let h: ConsoleHarness;
    let productId: string;
    let signedRelease: string;
    let pendingRelease: { id: string; sha256: string; length: number; targetPath: string };
    const devices: BricklessDevice[] = [];
    const dirs: string[] = [];
    const image = (seed: number) => Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * seed) % 256));
    const full = dialect === 'sqlite';

    before(async () => {
      // The devices check metadata expiry against the real time: the server's clock is the real one.
      h = await startConsole(dialect, { clockNow: new Date().toISOString() });
      const { t } = h;
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart plug',
          hardwareRevision: 'rev-b',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      assert.equal(product.status, 201, product.raw);
      productId = product.body.id;
      const keys = makerKeys();
      const root = JSON.stringify(await initRepository(t, 'acme', keys));
      signedRelease = await createRelease(t, 'acme', productId, image(7), {
        version: '2.0.0',
        securityVersion: 2,
      });
      assert.equal((await signTargets(t, 'acme', [keys.targets[0] as never])).published, true);

      // A release waiting for the targets key, with an SBOM that names a vulnerable component.
      const lodash = JSON.parse(
        readFileSync(new URL('../../../../test/data/osv/GHSA-p6mc-m468-83gw.json', import.meta.url), 'utf8'),
      );
      await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: [{ name: 'lodash', content: lodash }] },
      });
      const pendingId = await createRelease(t, 'acme', productId, image(11), {
        version: '2.1.0',
        securityVersion: 2,
      });
      const sbom = await t.call('PUT', `/v1/orgs/acme/releases/${pendingId}/sbom`, {
        body: {
          bomFormat: 'CycloneDX',
          specVersion: '1.5',
          version: 1,
          components: [
            { type: 'library', name: 'openssl', version: '3.0.13', purl: 'pkg:generic/openssl@3.0.13' },
            { type: 'library', name: 'lodash', version: '4.17.15', purl: 'pkg:npm/lodash@4.17.15' },
            { type: 'firmware', name: 'bootloader', version: '1.2.0' },
          ],
        },
      });
      assert.equal(sbom.status, 201, sbom.raw);
      const draft = await t.call('POST', '/v1/orgs/acme/updates/targets/draft', { body: {} });
      assert.equal(draft.status, 200, draft.raw);
      pendingRelease = (await t.call('GET', `/v1/orgs/acme/releases/${pendingId}`)).body;

      // Devices running the SDK: two healthy ones in the kitchen, one in the attic whose new
      // firmware fails its health check (it rolls back by itself and says why).
      const gateway = await startTlsGateway(t);
      const httpUrl = `https://127.0.0.1:${(t.app.http.server.address() as AddressInfo).port}`;
      const device = async (tag: string, healthy: boolean) => {
        const serial = `SN-${Math.random().toString(36).slice(2, 10)}`;
        const made = await t.call('POST', '/v1/orgs/acme/provisioning', {
          body: { productId, serials: [serial], credential: 'secret', firmwareVersion: '1.0.0', tags: [tag] },
        });
        assert.equal(made.status, 201, made.raw);
        const credential = made.body.devices[0] as { deviceId: string; secret: string };
        const dir = mkdtempSync(join(tmpdir(), 'brickless-console-device-'));
        dirs.push(dir);
        const sdk = new BricklessDevice({
          url: `mqtts://127.0.0.1:${gateway.port}`,
          deviceId: credential.deviceId,
          secret: credential.secret,
          ca: gateway.ca,
          backoff: { initialMs: 50, maxMs: 200 },
          updates: {
            httpUrl,
            dir,
            trustedRoot: root,
            productId,
            hardware: 'rev-b',
            version: '1.0.0',
            securityVersion: 1,
            ...(healthy ? {} : { healthCheck: async () => false }),
          },
        });
        devices.push(sdk);
        await sdk.connect();
        return credential.deviceId;
      };
      await device('kitchen', true);
      await device('kitchen', true);
      await device('attic', false);
    });
    after(async () => {
      for (const sdk of devices) await sdk.close();
      await h?.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    /** Ticks the rollout engine (serve does every 2 s) until the page shows what is awaited. */
    const tickUntil = async (page: Page, selector: string, timeoutMs = 30_000) => {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        await h.t.app.services.rolloutEngine.tick();
        if ((await page.locator(selector).count()) > 0) return;
        await page.waitForTimeout(250);
      }
      const rollouts = await h.t.call('GET', '/v1/orgs/acme/rollouts');
      const id = rollouts.body.items[0]?.id;
      const states = await h.t.call('GET', `/v1/orgs/acme/rollouts/${id}/devices`);
      throw new Error(`timed out waiting for ${selector}: ${rollouts.raw.slice(0, 600)} ${states.raw}`);
    };
    const noSidewaysScroll = async (page: Page, what: string) => {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      // Name the widest elements that stick out, so a failure says where to look.
      const culprits = await page.evaluate(() =>
        [...document.querySelectorAll('main *')]
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
          .filter((el) => !el.closest('.table-scroll'))
          .slice(-5)
          .map(
            (el) =>
              `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`,
          ),
      );
      assert.ok(
        overflow <= 0,
        `${what}: the page is ${overflow} px wider than the screen: ${culprits.join('; ')}`,
      );
    };

    it('the release page shows what waits for the offline key, each target with its hash, and the SBOM', async () => {
      const manager = await h.person('acme', ['release-manager'], 'rita');
      const page = await h.page();
      await h.signIn(page, manager);
      await page.click('nav.sidenav >> text=Releases');
      await page.waitForSelector('td >> text=2.1.0');
      assert.match((await page.textContent('table')) ?? '', /waiting for signature/);
      assert.match((await page.textContent('table')) ?? '', /Smart plug \(PLUG-1\)/);
      if (full) {
        assert.deepEqual(await h.axe(page), [], 'the release list');
        await h.screenshot(page, 'releases-list');
      }

      await page.click('a:has-text("2.1.0")');
      await page.waitForSelector('h1:has-text("Release 2.1.0")');
      await page.waitForSelector('.target-list');
      const signing = (await page.textContent('section:has(#signing)')) ?? '';
      assert.match(signing, /console never signs/);
      assert.match(signing, /in the draft waiting for signatures/);
      assert.match(signing, /0 of 1 signatures/);
      // The draft lists every target (the signed one too): path, length and SHA-256, monospace.
      const current = page.locator('.target-list > li.target-current');
      const text = (await current.textContent()) ?? '';
      assert.ok(text.includes(pendingRelease.targetPath), text);
      assert.ok(text.includes(pendingRelease.sha256), text);
      assert.ok(text.includes(String(pendingRelease.length)), text);
      assert.equal(await page.locator('.target-list > li').count(), 2);
      const font = await current
        .locator('code.copy-value')
        .last()
        .evaluate((el) => getComputedStyle(el).fontFamily);
      assert.match(font, /mono/i);
      assert.match(signing, /brickless release sign --key targets-1\.key --file firmware\.bin/);
      assert.match(signing, /--sign-offline pending\.json/);

      await page.waitForSelector('.sbom-count');
      assert.match((await page.textContent('.sbom-count')) ?? '', /3 components/);
      assert.match((await page.textContent('section:has(#sbom) table')) ?? '', /library\s*2/);
      const cyclonedx = await page.getAttribute('a:has-text("CycloneDX")', 'href');
      const download = await page.request.get(cyclonedx as string);
      assert.equal(download.status(), 200);
      assert.equal((await download.json()).bomFormat, 'CycloneDX');
      await page.waitForSelector('section:has(#vulnerabilities) :is(table, .empty)');
      if ((await page.locator('section:has(#vulnerabilities) table').count()) > 0)
        assert.match((await page.textContent('section:has(#vulnerabilities) table')) ?? '', /lodash/);
      if (full) {
        assert.deepEqual(await h.axe(page), [], 'the release page');
        await h.screenshot(page, 'release-page');
      }
      assert.deepEqual(h.problems, []);
    });

    it('a release manager starts a rollout in the form and watches it complete live', async () => {
      const manager = await h.person('acme', ['release-manager'], 'rafael');
      const page = await h.page();
      await h.signIn(page, manager);
      await page.goto(`/releases/${signedRelease}`);
      await page.click('a:has-text("Roll out this release")');
      // The signed releases arrive after the form: the chosen one is selected once its option is there.
      await page.waitForSelector(`#rollout-releaseId option[value="${signedRelease}"]`, {
        state: 'attached',
      });
      assert.equal(await page.inputValue('#rollout-releaseId'), signedRelease, 'the release is chosen');
      await page.fill('#rollout-name', 'Kitchen plugs');
      await page.fill('#rollout-selector-tags', 'kitchen');
      await page.fill('#rollout-failureThreshold', '50');
      // Waves that fall back: the server's word shows at the field, and the field takes the focus.
      await page.fill('#rollout-waves', '50, 10');
      await page.focus('#rollout-name');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#rollout-waves-error');
      assert.match((await page.textContent('#rollout-waves-error')) ?? '', /cumulative percentages/);
      await h.focused(page, { id: 'rollout-waves' }, 'the field in error takes the focus');
      assert.equal(await page.getAttribute('#rollout-waves', 'aria-invalid'), 'true');
      if (full) {
        assert.deepEqual(await h.axe(page), [], 'the rollout form with an error');
        await h.screenshot(page, 'rollout-create');
      }
      await page.fill('#rollout-waves', '100');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/rollouts\/rol_/);
      await page.waitForSelector('h1:has-text("Rollout Kitchen plugs")');
      await page.waitForSelector('text=Live: updates as devices report.');
      await page.evaluate(() => {
        (window as unknown as { stillTheSamePage: boolean }).stillTheSamePage = true;
      });
      await page.waitForSelector('text=0 of 2 finished, 0 failed');

      // The engine offers; the devices download, verify, install, reboot and report over MQTT.
      await tickUntil(page, '.badge:has-text("completed")', 60_000);
      await page.waitForSelector('text=2 of 2 finished, 0 failed');
      assert.equal(await page.locator('#progress-total').getAttribute('value'), '2');
      assert.equal(
        await page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
        true,
        'the progress arrived without a reload',
      );
      await page.waitForSelector('text=The rollout has ended.');
      await page.waitForSelector('section:has(#devices) .badge:has-text("succeeded")');
      if (full) {
        assert.deepEqual(await h.axe(page), [], 'the completed rollout');
        await h.screenshot(page, 'rollout-progress');
      }
      await page.goto('/rollouts');
      await page.waitForSelector('td >> text=Kitchen plugs');
      assert.match((await page.textContent('table')) ?? '', /2 of 2 devices finished/);
      if (full) assert.deepEqual(await h.axe(page), [], 'the rollout list');
      assert.deepEqual(h.problems, []);
    });

    it('pauses and resumes another rollout; a failing device says why; complete asks first', async () => {
      const manager = await h.person('acme', ['release-manager'], 'rosa');
      const created = await h.t.call('POST', '/v1/orgs/acme/rollouts', {
        body: { releaseId: signedRelease, name: 'Attic plugs', selector: { tags: ['attic'] }, waves: [100] },
      });
      assert.equal(created.status, 201, created.raw);
      const page = await h.page();
      await h.signIn(page, manager);
      await page.goto(`/rollouts/${created.body.id}`);
      await page.waitForSelector('text=Live: updates as devices report.');
      await page.click('button:has-text("Pause")');
      await page.waitForSelector('section .badge:has-text("paused")');
      await page.waitForSelector('button:has-text("Resume")');
      await page.click('button:has-text("Resume")');
      await page.waitForSelector('section .badge:has-text("running")');

      // The device installs, fails its health check and rolls back; the rollout halts by itself.
      await tickUntil(page, '.badge:has-text("halted")', 60_000);
      await page.selectOption('#rollout-device-state', 'rolled-back');
      await page.waitForSelector('td >> text=health-check');
      assert.match((await page.textContent('section:has(#devices) table')) ?? '', /back on 1\.0\.0/);

      await page.click('button:has-text("Complete now")');
      await page.waitForSelector('[role=alertdialog]');
      await h.focused(page, { text: 'Yes, do it' }, 'the confirmation takes the focus');
      if (full) assert.deepEqual(await h.axe(page), [], 'the confirmation');
      await page.keyboard.press('Enter');
      await page.waitForSelector('section .badge:has-text("completed")');
      assert.deepEqual(h.problems, []);
    });

    it('speaks German and fits 360 px on every page; an operator edits a brand', async () => {
      const admin = await h.person('acme', ['admin'], 'anke');
      const page = await h.page({ width: 360, height: 740, locale: 'de-DE' });
      await h.signIn(page, admin);
      const rollouts = (await h.t.call('GET', '/v1/orgs/acme/rollouts')).body.items as { id: string }[];
      for (const [path, heading] of [
        ['/releases', 'Releases'],
        [`/releases/${pendingRelease.id}`, 'Release 2.1.0'],
        ['/rollouts', 'Rollouts'],
        [`/rollouts/${rollouts[0]?.id}`, 'Rollout'],
        ['/brands', 'Marken'],
      ] as const) {
        await page.goto(path);
        await page.waitForSelector(`h1:has-text("${heading}")`);
        await page.waitForLoadState('networkidle').catch(() => {});
        await noSidewaysScroll(page, path);
      }
      await page.goto(`/releases/${pendingRelease.id}`);
      await page.waitForSelector('text=Die Konsole signiert nie');
      await page.goto('/rollouts');
      await page.waitForSelector('h2:has-text("Neuer Rollout")');
      await noSidewaysScroll(page, 'the rollout form');

      // Brands: create, then edit, by an administrator (fleet:write).
      await page.goto('/brands');
      await page.fill('#brand-name', 'Acme Home');
      await page.fill('#brand-party', 'Acme GmbH');
      await page.fill('#brand-contact', 'not a contact');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#brand-contact-error');
      await page.fill('#brand-contact', 'mailto:security@acme.example');
      await page.keyboard.press('Enter');
      await page.waitForSelector('td >> text=Acme Home');
      await page.click('button[aria-label="Marke Acme Home bearbeiten"]');
      await page.fill('#brand-name', 'Acme Living');
      await page.keyboard.press('Enter');
      await page.waitForSelector('td >> text=Acme Living');
      if (full) assert.deepEqual(await h.axe(page), [], 'brands, German, 360 px');
      assert.deepEqual(h.problems, []);
    });
  });
}
