import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { testDialects } from '../store/test-helper.js';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';

const serial = (i: number) => `PLUG-${String(i).padStart(4, '0')}`;
const serials = async (page: Page) =>
  (await page.locator('.section:has(#device-list) tbody tr td:first-child').allTextContents()).map((s) =>
    s.trim(),
  );

/**
 * The fleet overview (/) and the devices list (/devices) in real Chromium (issue 17): the figures
 * match the fleet, the cards lead to filtered lists, filters live in the address and submit with
 * Enter, paging runs on the server, an empty fleet says how to provision, axe on every state.
 */
for (const dialect of testDialects) {
  describe(`fleet overview and devices list in Chromium (${dialect})`, { skip: consoleSkip }, () => {
    let h: ConsoleHarness;
    const checkAxe = dialect === 'sqlite';

    before(async () => {
      h = await startConsole(dialect);
      await h.t.org('acme');
      await h.t.org('vacant');
      const product = await h.t.call('POST', '/v1/orgs/acme/products', {
        body: { modelNumber: 'PLUG-1', name: 'Smart Plug', hardwareRevision: 'A', supportEnds: '2031-12-31' },
      });
      assert.equal(product.status, 201, product.raw);
      // 60 devices: more than one page of 50. The first 24 on 1.1.0, the rest on 1.0.0.
      const ids: string[] = [];
      for (let i = 1; i <= 60; i++) {
        const d = await h.t.call('POST', '/v1/orgs/acme/devices', {
          body: {
            productId: product.body.id,
            serial: serial(i),
            firmwareVersion: i <= 24 ? '1.1.0' : '1.0.0',
            tags: i % 10 === 0 ? ['pilot'] : [],
          },
        });
        assert.equal(d.status, 201, d.raw);
        ids.push(d.body.id);
      }
      // Presence is the gateway's: 25 devices hold a connection now.
      await h.t.app.services.store.db
        .updateTable('devices')
        .set({ online: 1, last_seen_at: new Date().toISOString() })
        .where('id', 'in', ids.slice(0, 25))
        .execute();
    });
    after(async () => {
      await h?.close();
    });

    it('shows the fleet on the overview, and its offline card leads to the offline devices', async () => {
      const operator = await h.person('acme', ['operator']);
      const page = await h.page();
      await h.signIn(page, operator);
      await page.goto('/');
      await page.waitForSelector('#card-devices');
      const devices = (await page.textContent('article:has(#card-devices)')) ?? '';
      assert.match(devices, /60 devices/);
      assert.match(devices, /Online\s*25/);
      assert.match(devices, /Offline devices\s*35/);
      assert.match((await page.textContent('article:has(#card-exposures)')) ?? '', /0 open/);
      assert.match((await page.textContent('article:has(#card-rollouts)')) ?? '', /No rollout is running/);
      // Deposits and drills are the platform's, read with audit:read: not an operator's card.
      assert.equal(await page.locator('#card-continuity').count(), 0);
      // 1.0.0: 36 devices, one online (the 25th); 1.1.0: 24 devices, all online.
      const versions = await page
        .locator('.section:has(#versions) tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      assert.deepEqual(versions, [
        ['Smart Plug', '1.0.0', '36', '1'],
        ['Smart Plug', '1.1.0', '24', '24'],
      ]);
      if (checkAxe) {
        assert.deepEqual(await h.axe(page), [], 'the overview');
        await h.screenshot(page, 'fleet-overview');
      }

      await page.click('a[href="/devices?online=false"]');
      await page.waitForSelector('.section:has(#device-list) tbody tr');
      assert.match(page.url(), /\/devices\?online=false$/);
      assert.equal(
        await page.inputValue('#device-online'),
        'false',
        'the form shows the filter of the address',
      );
      const offline = await serials(page);
      assert.equal(offline.length, 35);
      assert.equal(offline[0], serial(26));
      const words = await page.locator('.section:has(#device-list) tbody .badge-neutral').allTextContents();
      assert.ok(words.every((w) => w === 'offline'));
      assert.deepEqual(h.problems, []);
    });

    it('searches by serial prefix with Enter, filters by tag and version, and pages on the server', async () => {
      const operator = await h.person('acme', ['operator']);
      const page = await h.page();
      await h.signIn(page, operator);
      await page.goto('/devices');
      await page.waitForSelector('.section:has(#device-list) tbody tr');
      assert.equal((await serials(page)).length, 50, 'a page of 50');
      assert.match((await page.textContent('.pager')) ?? '', /Page 1/);
      await page.click('.pager >> text=Next page');
      await page.waitForSelector('.pager >> text=Page 2');
      // The page number moves at the click; the rows when the server answered.
      await page.waitForFunction(
        () => document.querySelectorAll('.section:has(#device-list) tbody tr').length === 10,
      );
      assert.deepEqual(
        await serials(page),
        Array.from({ length: 10 }, (_, i) => serial(51 + i)),
      );
      await page.click('.pager >> text=Previous page');
      await page.waitForSelector('.pager >> text=Page 1');

      await page.focus('#device-q');
      await page.keyboard.type('PLUG-001');
      await page.keyboard.press('Enter');
      await page.waitForURL(/q=PLUG-001/);
      await page.waitForFunction(
        () => document.querySelectorAll('.section:has(#device-list) tbody tr').length === 10,
      );
      assert.deepEqual(
        await serials(page),
        Array.from({ length: 10 }, (_, i) => serial(10 + i)),
      );
      // The filtered list is a link: opened afresh it shows the same rows and the same form.
      await page.goto(page.url());
      await page.waitForSelector('.section:has(#device-list) tbody tr');
      assert.equal(await page.inputValue('#device-q'), 'PLUG-001');
      assert.equal((await serials(page)).length, 10);
      // Each row leads to its device page.
      const href = await page.getAttribute('.section:has(#device-list) tbody tr a', 'href');
      assert.match(href ?? '', /^\/devices\/dev_[0-9a-f]+$/);

      await page.goto('/devices?tag=pilot&online=false');
      await page.waitForFunction(
        () => document.querySelectorAll('.section:has(#device-list) tbody tr').length === 4,
      );
      assert.deepEqual(await serials(page), [serial(30), serial(40), serial(50), serial(60)]);
      await page.fill('#device-tag', '');
      await page.fill('#device-firmware', '1.1.0');
      await page.selectOption('#device-online', 'true');
      await page.focus('#device-firmware');
      await page.keyboard.press('Enter');
      await page.waitForURL(/firmwareVersion=1\.1\.0/);
      await page.waitForFunction(
        () => document.querySelectorAll('.section:has(#device-list) tbody tr').length === 24,
      );
      if (checkAxe) {
        assert.deepEqual(await h.axe(page), [], 'the filtered device list');
        await h.screenshot(page, 'fleet-devices');
      }
      await page.goto('/devices?q=NOPE');
      await page.waitForSelector('.empty');
      assert.match((await page.textContent('.empty')) ?? '', /No device matches these filters/);
      if (checkAxe) assert.deepEqual(await h.axe(page), [], 'no match');
      assert.deepEqual(h.problems, []);
    });

    it('an auditor sees the list too, and it fits 360 px without sideways scrolling', async () => {
      const auditor = await h.person('acme', ['auditor']);
      const page = await h.page({ width: 360, height: 740 });
      await h.signIn(page, auditor);
      await page.goto('/devices');
      await page.waitForSelector('.section:has(#device-list) tbody tr');
      assert.equal((await serials(page)).length, 50);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
      if (checkAxe) assert.deepEqual(await h.axe(page), [], 'the device list at 360 px');
      await page.goto('/');
      await page.waitForSelector('#card-devices');
      const overviewOverflow = await page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      assert.ok(overviewOverflow <= 0, `the overview scrolls sideways by ${overviewOverflow} px`);
      assert.deepEqual(h.problems, []);
    });

    it('an empty fleet explains how to provision, on the overview and the list', async () => {
      const operator = await h.person('vacant', ['operator']);
      const page = await h.page();
      await h.signIn(page, operator);
      await page.goto('/');
      await page.waitForSelector('.empty');
      const overview = (await page.textContent('.empty')) ?? '';
      assert.match(overview, /No devices in this organisation yet/);
      assert.match(overview, /brickless devices provision/);
      assert.equal(await page.locator('.empty a[href="/devices"]').count(), 1);
      if (checkAxe) assert.deepEqual(await h.axe(page), [], 'the empty overview');
      await page.click('.empty a[href="/devices"]');
      await page.waitForSelector('.section:has(#device-list) .empty');
      const list = (await page.textContent('.section:has(#device-list) .empty')) ?? '';
      assert.match(list, /No devices yet/);
      assert.match(list, /brickless devices provision/);
      if (checkAxe) assert.deepEqual(await h.axe(page), [], 'the empty device list');
      assert.deepEqual(h.problems, []);
    });
  });
}
