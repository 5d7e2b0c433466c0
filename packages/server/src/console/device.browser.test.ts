import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BricklessDevice } from '@brickless/device';
import type { CapabilityModel } from '@brickless/protocol';
import type { Page } from 'playwright-core';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities } from '../test-support/app.js';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';
import { startTlsGateway } from '../test-support/mqtt.js';

interface Line {
  deviceId: string;
  serial: string;
  secret?: string;
  productId: string;
}

/** The page is no wider than the window: nothing scrolls sideways (WCAG 1.4.10). */
async function noSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${what}: the page is ${scroll} px wide in a ${width} px window`);
}

async function openTab(page: Page, name: RegExp): Promise<void> {
  await page.getByRole('tab', { name }).click();
  await page.waitForSelector('[role=tabpanel] h2');
}

/**
 * The device page and provisioning in real Chromium (issue 17): an operator provisions devices,
 * a simulated device (the real SDK over MQTT/TLS) comes online, and the page shows its state,
 * telemetry (chart and table), a command with the device's answer, presence and a rotated
 * credential, in English and German, at 360 px, with axe and the CSP checked throughout.
 */
for (const dialect of testDialects) {
  describe(`the device page in Chromium (${dialect})`, { skip: consoleSkip }, () => {
    let h: ConsoleHarness;
    let gateway: { port: number; ca: string };
    let work: string;
    const devices: BricklessDevice[] = [];
    const full = dialect === 'sqlite'; // axe and screenshots once are enough

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-device-page-'));
      // The device stamps readings with the real time; the server's clock starts there too.
      h = await startConsole(dialect, { clockNow: new Date().toISOString() });
      await h.t.org('acme');
      const product = await h.t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart Plug',
          hardwareRevision: 'A',
          supportEnds: '2035-12-31',
          capabilities: plugCapabilities as unknown as CapabilityModel,
        },
      });
      assert.equal(product.status, 201, product.raw);
      gateway = await startTlsGateway(h.t);
    });
    after(async () => {
      for (const device of devices) await device.close().catch(() => {});
      await h?.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('provisions devices, shows one online with telemetry, a command’s result, presence and a new credential', async () => {
      const operator = await h.person('acme', ['operator'], 'olga');
      const page = await h.page();
      await h.signIn(page, operator);

      // Provisioning: a product, a prefix and a count; the batch comes once, as a JSONL download.
      await page.goto('/devices/provision');
      await page.waitForSelector('#provision-prefix');
      if (full) {
        assert.deepEqual(await h.axe(page), [], 'the provisioning form');
        await h.screenshot(page, 'device-provision');
      }
      await page.fill('#provision-count', '500');
      await page.focus('#provision-prefix');
      await page.keyboard.type('PLUG-');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#provision-count-error');
      assert.match((await page.textContent('#provision-count-error')) ?? '', /1 to 100/);
      await page.fill('#provision-count', '2');
      await page.keyboard.press('Enter');
      const link = page.getByRole('link', { name: /Download the credentials of 2 devices/ });
      await link.waitFor();
      assert.match((await page.textContent('main')) ?? '', /holds the devices’ secrets/);
      if (full) assert.deepEqual(await h.axe(page), [], 'the provisioned batch');
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      assert.match(download.suggestedFilename(), /^provisioned-.*\.jsonl$/);
      const lines = readFileSync((await download.path()) as string, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Line);
      assert.deepEqual(
        lines.map((l) => l.serial),
        ['PLUG-000001', 'PLUG-000002'],
      );
      const first = lines[0] as Line;
      assert.match(first.secret ?? '', /^bds_/, 'each device has its secret');

      // A simulated device comes online with its provisioned secret and answers commands.
      const device = new BricklessDevice({
        url: `mqtts://127.0.0.1:${gateway.port}`,
        deviceId: first.deviceId,
        secret: first.secret as string,
        ca: gateway.ca,
        settingsFile: join(work, `${dialect}-settings.json`),
        backoff: { initialMs: 200, maxMs: 1000 },
      });
      devices.push(device);
      device.onCommand('blink', (params) => ({ blinked: (params as { times: number }).times }));
      await device.connect();
      await device.sendTelemetry({ power: 12.5 });
      await device.sendTelemetry({ power: 17.5 });

      await page.getByRole('link', { name: first.deviceId }).click();
      await page.waitForSelector('h1:has-text("Device PLUG-000001")');
      assert.match((await page.textContent('.device-header')) ?? '', /online/);
      assert.match((await page.textContent('.device-header')) ?? '', /Smart Plug/);
      await page.waitForSelector('[role=tabpanel] h2:has-text("State")');
      if (full) assert.deepEqual(await h.axe(page), [], 'the state tab');

      // The tabs follow the WAI-ARIA pattern: arrow keys move and select.
      await page.focus('[role=tab][aria-selected=true]');
      await page.keyboard.press('ArrowRight');
      await page.waitForSelector('#tab-telemetry[aria-selected=true]');
      await page.waitForFunction(() => document.activeElement?.id === 'tab-telemetry');
      await page.waitForSelector('.chart-box canvas');
      assert.match((await page.textContent('figcaption')) ?? '', /power: 1 time bucket,.*15 W/);
      await page.click('.chart-table summary');
      assert.match((await page.textContent('.chart-table table')) ?? '', /15\s*W/);
      if (full) {
        assert.deepEqual(await h.axe(page), [], 'the telemetry tab');
        await h.screenshot(page, 'device-page');
      }
      for (const range of ['day', 'week', 'month']) {
        await page.selectOption('#telemetry-range', range);
        await page.waitForSelector('.chart-box canvas');
        await page.waitForSelector('figcaption:has-text("1 time bucket")');
      }

      // A command, and its result when the device answers (the page polls while it waits).
      await openTab(page, /^Commands$/);
      await page.selectOption('#command-name', 'blink');
      await page.fill('#command-params', '{"times": ');
      await page.click('button:has-text("Send command")');
      await page.waitForSelector('#command-params-error');
      assert.match((await page.textContent('#command-params-error')) ?? '', /not valid JSON/);
      await page.fill('#command-params', '{"times": 3}');
      await page.click('button:has-text("Send command")');
      await page.waitForSelector('.latest-command :text("succeeded")', { timeout: 15_000 });
      assert.match((await page.textContent('.latest-command')) ?? '', /"blinked":3/);
      await page.waitForSelector('table :text("succeeded")', { timeout: 15_000 });
      if (full) assert.deepEqual(await h.axe(page), [], 'the commands tab');

      // Desired state, checked before it is sent.
      await openTab(page, /^State$/);
      await page.fill('#desired-json', '[1, 2]');
      await page.click('button:has-text("Save desired state")');
      await page.waitForSelector('#desired-json-error');
      await page.fill('#desired-json', '{"on": true}');
      await page.click('button:has-text("Save desired state")');
      await page.waitForSelector('text=Desired state saved');
      if (full) assert.deepEqual(await h.axe(page), [], 'the state tab with an edit');

      await openTab(page, /^Presence$/);
      await page.waitForSelector('.timeline :text("connected")');
      if (full) assert.deepEqual(await h.axe(page), [], 'the presence tab');

      for (const tab of [/^Updates$/, /^Vulnerabilities$/]) {
        await openTab(page, tab);
        await page.waitForSelector('[role=tabpanel] .empty, [role=tabpanel] p');
        if (full) assert.deepEqual(await h.axe(page), [], String(tab));
      }

      // A new credential: confirmed first, shown once.
      await openTab(page, /^Credentials$/);
      await page.waitForSelector('[role=tabpanel] table');
      await page.click('button:has-text("Issue a new credential…")');
      // The focus moves to the confirmation, on its safe choice.
      await page.waitForFunction(() => document.activeElement?.textContent === 'Cancel');
      if (full) assert.deepEqual(await h.axe(page), [], 'the confirmation');
      await page.click('button:has-text("Issue new credential")');
      await page.waitForSelector('.issued-once .secret-value');
      const secret = (await page.textContent('.issued-once .secret-value')) ?? '';
      assert.match(secret, /^bds_/);
      assert.notEqual(secret, first.secret);
      assert.match((await page.textContent('.issued-once')) ?? '', /shown once/);
      await page.waitForSelector('[role=tabpanel] table :text("revoked")');
      if (full) assert.deepEqual(await h.axe(page), [], 'the new credential');
      await page.click('button:has-text("I have stored it")');
      assert.equal(await page.locator('.issued-once').count(), 0, 'gone once hidden');

      // The rotation disconnected the device: presence shows it.
      await device.close();
      await openTab(page, /^Presence$/);
      await page.waitForSelector('.timeline :text("disconnected")', { timeout: 10_000 });

      // German, and 360 px wide without sideways scrolling on every tab.
      const narrow = await h.page({ width: 360, height: 740, locale: 'de-DE' });
      await h.signIn(narrow, operator);
      await narrow.goto(`/devices/${first.deviceId}`);
      await narrow.waitForSelector('h1:has-text("Gerät PLUG-000001")');
      for (const tab of [
        'Zustand',
        'Telemetrie',
        'Befehle',
        'Präsenz',
        'Updates',
        'Schwachstellen',
        'Zugangsdaten',
      ]) {
        await narrow.getByRole('tab', { name: tab, exact: true }).click();
        await narrow.waitForSelector(`[role=tabpanel] h2:has-text("${tab}")`);
        if (tab === 'Telemetrie') await narrow.waitForSelector('.chart-box canvas');
        await noSidewaysScroll(narrow, tab);
      }
      await narrow.goto('/devices/provision');
      await narrow.waitForSelector('h1:has-text("Geräte provisionieren")');
      await noSidewaysScroll(narrow, 'provisioning');

      assert.deepEqual(h.problems, [], 'no CSP violation or page error');
    });

    it('shows an auditor the device but no way to change it, and no provisioning', async () => {
      const auditor = await h.person('acme', ['auditor'], 'audrey');
      const page = await h.page();
      await h.signIn(page, auditor);
      const listed = await h.t.call('GET', '/v1/orgs/acme/devices?serial=PLUG-000002');
      const id = listed.body.items[0].id as string;
      await page.goto(`/devices/${id}?tab=commands`);
      await page.waitForSelector('[role=tabpanel] h2:has-text("Commands")');
      await page.waitForSelector('text=No commands yet.');
      assert.equal(await page.locator('#command-name').count(), 0);
      await openTab(page, /^State$/);
      assert.equal(await page.locator('#desired-json').count(), 0);
      await openTab(page, /^Credentials$/);
      await page.waitForSelector('[role=tabpanel] table');
      assert.equal(await page.locator('button:has-text("Revoke all credentials")').count(), 0);
      await page.goto('/devices/provision');
      await page.waitForSelector('text=Provisioning needs the operator');
      assert.deepEqual(h.problems, []);
    });
  });
}
