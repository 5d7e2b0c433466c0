import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { testDialects } from '../store/test-helper.js';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '../../../../test/data');
const read = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
/** NVD's records for the firmware's components and CISA's KEV catalog, as `brickless vulns import` sends them. */
const feedDocuments = () => [
  ...readdirSync(join(data, 'nvd'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ name: `nvd/${f}`, content: read(join(data, 'nvd', f)) })),
  {
    name: 'kev/known_exploited_vulnerabilities.json',
    content: read(join(data, 'kev/known_exploited_vulnerabilities.json')),
  },
];

/** The page is no wider than the screen (WCAG 1.4.10): wide tables scroll inside themselves. */
async function sidewaysOverflow(page: Page): Promise<{ overflow: number; widest: string }> {
  return page.evaluate(() => {
    // The element reaching furthest right outside a scrolling table names the culprit in a failure.
    let widest = '';
    let right = window.innerWidth;
    for (const el of document.querySelectorAll('body *')) {
      if (el.parentElement?.closest('.table-scroll, .csaf-json')) continue;
      const box = el.getBoundingClientRect();
      if (box.right > right) {
        right = box.right;
        widest = `${el.tagName.toLowerCase()}.${el.className}: ${(el.textContent ?? '').slice(0, 60)}`;
      }
    }
    return { overflow: document.documentElement.scrollWidth - window.innerWidth, widest };
  });
}

/**
 * The security work in real Chromium (issue 17): the exposure list and a vulnerability's triage,
 * a CRA Art. 14 case with its ticking deadlines, draft and submission, the exchange with a
 * researcher, and advisories; axe on every page, German and 360 px.
 */
for (const dialect of testDialects) {
  describe(`the console's security pages in Chromium (${dialect})`, { skip: consoleSkip }, () => {
    let h: ConsoleHarness;
    let caseId: string;
    let disclosureId: string;
    let trackingSecret: string;
    const checks = dialect === 'sqlite';

    before(async () => {
      // The server's clock is the browser's now, so the Art. 14 deadlines are a day ahead, not past.
      h = await startConsole(dialect, { clockNow: new Date().toISOString() });
      const { t } = h;
      await t.org('acme');
      const brand = await t.call('POST', '/v1/orgs/acme/brands', {
        body: {
          name: 'Acme Home',
          responsibleParty: 'Acme GmbH',
          securityContact: 'mailto:psirt@acme.example',
        },
      });
      assert.equal(brand.status, 201, brand.raw);
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart Plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          brandIds: [brand.body.id],
        },
      });
      assert.equal(product.status, 201, product.raw);
      const keys = makerKeys();
      await initRepository(t, 'acme', keys);
      const vulnerable = await createRelease(t, 'acme', product.body.id, Buffer.from('image 1.2.0'), {
        version: '1.2.0',
      });
      await createRelease(t, 'acme', product.body.id, Buffer.from('image 1.3.0'), {
        version: '1.3.0',
        kind: 'security',
      });
      await signTargets(t, 'acme', [keys.targets[0] as never]);
      for (let i = 0; i < 3; i++) {
        const device = await t.call('POST', '/v1/orgs/acme/devices', {
          body: {
            productId: product.body.id,
            serial: `S-${i}`,
            brandId: brand.body.id,
            firmwareVersion: '1.2.0',
          },
        });
        assert.equal(device.status, 201, device.raw);
      }
      const imported = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: feedDocuments() },
      });
      assert.equal(imported.status, 200, imported.raw);
      const sbom = await t.call('PUT', `/v1/orgs/acme/releases/${vulnerable}/sbom`, {
        body: read(join(here, '../vulnerabilities/fixtures/firmware-1.2.0.cdx.json')),
      });
      assert.equal(sbom.status, 201, sbom.raw);
      // The KEV entry for the kernel (CVE-2022-0847) opened an Art. 14 case by itself.
      const cases = await t.call('GET', '/v1/orgs/acme/report-cases');
      const kevCase = cases.body.items.find(
        (c: { vulnerabilityId: string }) => c.vulnerabilityId === 'CVE-2022-0847',
      );
      assert.ok(kevCase, cases.raw);
      caseId = kevCase.id;
      // The API's filters, as the list page uses them.
      const kevOnly = await t.call('GET', '/v1/orgs/acme/vulnerabilities?kev=true&limit=10');
      assert.deepEqual(
        kevOnly.body.items.map((v: { id: string }) => v.id),
        ['CVE-2022-0847'],
      );
      const firstPage = await t.call('GET', '/v1/orgs/acme/vulnerabilities?limit=2');
      assert.equal(firstPage.body.items.length, 2);
      const rest = await t.call(
        'GET',
        `/v1/orgs/acme/vulnerabilities?limit=2&cursor=${firstPage.body.nextCursor}`,
      );
      assert.equal(rest.status, 200, rest.raw);
      assert.ok(rest.body.items.length >= 1);
      // A researcher reports through the public intake, without an account.
      const reported = await t.call('POST', '/public/orgs/acme/report', {
        token: null,
        body: {
          title: 'Telnet answers on port 23',
          description: 'nc plug.local 23\nBusyBox login',
          contact: 'r@example.org',
        },
      });
      assert.equal(reported.status, 201, reported.raw);
      trackingSecret = reported.body.trackingId;
      const inbox = await t.call('GET', '/v1/orgs/acme/disclosures');
      disclosureId = inbox.body.items[0].id;
    });
    after(async () => {
      await h?.close();
    });

    it('lists the exposure with KEV in words, filters in the address, and a security person triages a vulnerability so its exposure changes', async () => {
      const security = await h.person('acme', ['security'], 'sec');
      const page = await h.page();
      await h.signIn(page, security);
      await page.click('nav.sidenav >> text=Vulnerabilities');
      await page.waitForSelector('td >> text=CVE-2022-37434');
      const kevRow = page.locator('tr', { has: page.locator('a:text-is("CVE-2022-0847")') });
      assert.match((await kevRow.textContent()) ?? '', /known exploited/);
      if (checks) {
        assert.deepEqual(await h.axe(page), [], 'the vulnerability list');
        await h.screenshot(page, 'security-vulnerabilities');
      }
      await page.selectOption('#filter-kev', 'true');
      await page.waitForURL(/kev=true/);
      await page.waitForFunction(() => !document.body.textContent?.includes('CVE-2022-37434'));
      assert.equal(await page.locator('tbody tr').count(), 1);

      await page.goto('/vulnerabilities/CVE-2022-37434');
      await page.waitForSelector('#exposure-summary');
      assert.match((await page.textContent('#exposure-summary')) ?? '', /^3 devices on 1 releases/);
      assert.equal(await page.locator('section:has(h2:text("Exposed devices")) tbody tr').count(), 3);
      // Security alone cannot remediate: the page says who can, instead of a button that fails.
      assert.match((await page.textContent('section:has(h2:text("Remediate"))')) ?? '', /releases:write/);
      if (checks) assert.deepEqual(await h.axe(page), [], 'the vulnerability page');
      // The statuses and justifications offered are the API's own.
      const justifications = await page
        .locator('#triage-justification option')
        .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
      assert.deepEqual(justifications, [
        'component_not_present',
        'vulnerable_code_not_present',
        'vulnerable_code_not_in_execute_path',
        'vulnerable_code_cannot_be_controlled_by_adversary',
        'inline_mitigations_already_exist',
      ]);
      assert.equal(await page.inputValue('#triage-status'), 'not_affected');
      await page.selectOption('#triage-justification', 'vulnerable_code_not_in_execute_path');
      await page.fill('#triage-impact', 'The firmware never inflates gzip headers with extra fields.');
      await page.click('section:has(h2:text("Triage")) button[type=submit]');
      await page.waitForFunction(() =>
        document.querySelector('#exposure-summary')?.textContent?.startsWith('0 devices on 0 releases'),
      );
      assert.match((await page.textContent('[role=status].notice')) ?? '', /Decision recorded: not affected/);
      assert.match(
        (await page.textContent('section:has(h2:text("Decisions"))')) ?? '',
        /not affected.*never executed.*never inflates/s,
      );
      // The device list reloads after the summary: wait for it rather than read it at once.
      await page.waitForSelector('section:has(h2:text("Exposed devices")) >> text=No device is exposed');
      if (checks) {
        assert.deepEqual(await h.axe(page), [], 'the vulnerability page after triage');
        await h.screenshot(page, 'security-vulnerability');
      }
      const after = await h.t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2022-37434/exposure');
      assert.equal(after.body.devicesExposed, 0);
      assert.deepEqual(h.problems, []);
    });

    it('shows an Art. 14 case with deadlines ticking every second, its draft, and records a submission', async () => {
      const security = await h.person('acme', ['security']);
      const page = await h.page();
      await h.signIn(page, security);
      await page.click('nav.sidenav >> text=Reports');
      await page.click(`a[href="/reports/${caseId}"]`);
      await page.waitForSelector('.countdown');
      assert.equal(
        await page.getAttribute('.countdown', 'aria-live'),
        'off',
        'the ticking value is not read out',
      );
      const first = await page.textContent('.countdown');
      assert.match(first ?? '', /^23:\d\d:\d\d left$/);
      await page.waitForFunction(
        (before) => document.querySelector('.countdown')?.textContent !== before,
        first,
        {
          timeout: 3000,
        },
      );
      await page.waitForSelector('.draft dt');
      assert.match((await page.textContent('.draft')) ?? '', /Cyber Resilience Act/);
      if (checks) assert.deepEqual(await h.axe(page), [], 'the report case');
      await page.fill('#submit-reference', 'ENISA-SRP-0001');
      await page.focus('#submit-reference');
      await page.keyboard.press('Enter');
      await page.click('button:text("Yes, record it")');
      await page.waitForSelector('td:text("ENISA-SRP-0001")');
      assert.match((await page.textContent('[role=status].notice')) ?? '', /Early warning \(24 h\) recorded/);
      // The early warning's countdown gave way to when it was submitted; the notification still ticks.
      assert.equal(await page.locator('.countdown').count(), 1);
      assert.match((await page.textContent('.countdown')) ?? '', /^2 d 23:\d\d:\d\d left$/);
      if (checks) {
        assert.deepEqual(await h.axe(page), [], 'the report case after a submission');
        await h.screenshot(page, 'security-report');
      }
      const stored = await h.t.call('GET', `/v1/orgs/acme/report-cases/${caseId}`);
      assert.equal(stored.body.submissions[0].stage, 'early-warning');
      assert.equal(stored.body.submissions[0].reference, 'ENISA-SRP-0001');
      assert.deepEqual(h.problems, []);
    });

    it('answers a researcher in the disclosure thread and moves the report on', async () => {
      const security = await h.person('acme', ['security']);
      const page = await h.page();
      await h.signIn(page, security);
      await page.click('nav.sidenav >> text=Disclosures');
      await page.click('a:text("Telnet answers on port 23")');
      await page.waitForSelector('#thread-message');
      assert.match((await page.textContent('.researcher-text')) ?? '', /BusyBox login/);
      await page.fill('#thread-message', 'Thank you. We can reproduce it and are preparing a fix.');
      await page.keyboard.press('Control+Enter');
      await page.waitForSelector('.thread-maker');
      assert.match((await page.textContent('.thread')) ?? '', /preparing a fix/);
      await page.selectOption('#disclosure-status', 'confirmed');
      await page.fill('#disclosure-note', 'Confirmed; a fix is on its way.');
      await page.click('button:text("Save status")');
      await page.waitForSelector('text=The researcher’s tracking link shows it now');
      if (checks) {
        assert.deepEqual(await h.axe(page), [], 'the disclosure');
        await h.screenshot(page, 'security-disclosure');
      }
      // What the researcher sees through the private link.
      const tracking = await h.t.call('GET', `/public/reports/${trackingSecret}?format=json`, {
        token: null,
      });
      assert.equal(tracking.status, 200, tracking.raw);
      assert.equal(tracking.body.status, 'confirmed');
      assert.match(JSON.stringify(tracking.body.messages), /preparing a fix/);
      assert.deepEqual(h.problems, []);
    });

    it('drafts an advisory and shows the CSAF document', async () => {
      const security = await h.person('acme', ['security']);
      const page = await h.page();
      await h.signIn(page, security);
      await page.click('nav.sidenav >> text=Advisories');
      await page.waitForSelector('.empty');
      await page.fill('#advisory-vulns', 'CVE-2022-0847');
      await page.keyboard.press('Enter');
      await page.waitForSelector('td:text("CVE-2022-0847")');
      if (checks) {
        assert.deepEqual(await h.axe(page), [], 'the advisory list');
        await h.screenshot(page, 'security-advisories');
      }
      await page.click('td a[href^="/advisories/"]');
      await page.waitForSelector('.csaf-json');
      assert.match((await page.textContent('.csaf-json')) ?? '', /"csaf_version": "2.0"/);
      if (checks) assert.deepEqual(await h.axe(page), [], 'the advisory page');
      assert.deepEqual(h.problems, []);
    });

    it('remediates for someone who may ship releases: shows the plan first, then links the rollout', async () => {
      const shipper = await h.person('acme', ['security', 'release-manager']);
      const page = await h.page();
      await h.signIn(page, shipper);
      await page.goto('/vulnerabilities/CVE-2022-0847');
      await page.waitForSelector('#remediate-release option:text-is("1.3.0")', { state: 'attached' });
      await page.selectOption('#remediate-release', { label: '1.3.0' });
      await page.click('button:text("Show what it will do")');
      assert.match(
        (await page.textContent('.plan')) ?? '',
        /A security rollout of 1\.3\.0 to 3 devices of Smart Plug now running 1\.2\.0\./,
      );
      assert.equal(
        (await h.t.call('GET', '/v1/orgs/acme/rollouts')).body.items.length,
        0,
        'nothing is created before the confirmation',
      );
      await page.click('button:text("Create the rollout")');
      await page.waitForSelector('a:text("Open the rollout")');
      const href = await page.getAttribute('a:text("Open the rollout")', 'href');
      const rollouts = await h.t.call('GET', '/v1/orgs/acme/rollouts');
      assert.equal(href, `/rollouts/${rollouts.body.items[0].id}`);
      if (checks) assert.deepEqual(await h.axe(page), [], 'the vulnerability page after remediation');
      assert.deepEqual(h.problems, []);
    });

    it('speaks German and fits 360 px on every security page', async () => {
      const security = await h.person('acme', ['security']);
      const page = await h.page({ width: 360, height: 740, locale: 'de-DE' });
      await h.signIn(page, security);
      let advisories = await h.t.call('GET', '/v1/orgs/acme/advisories');
      if (advisories.body.items.length === 0) {
        await h.t.call('POST', '/v1/orgs/acme/advisories', { body: { vulnerabilities: ['CVE-2022-0847'] } });
        advisories = await h.t.call('GET', '/v1/orgs/acme/advisories');
      }
      for (const [path, heading] of [
        ['/vulnerabilities', 'Schwachstellen'],
        ['/vulnerabilities/CVE-2022-0847', 'CVE-2022-0847'],
        ['/reports', 'CRA-Meldungen'],
        [`/reports/${caseId}`, 'Fristen'],
        ['/disclosures', 'Meldungen'],
        [`/disclosures/${disclosureId}`, 'Austausch mit der meldenden Person'],
        ['/advisories', 'Advisories'],
        [`/advisories/${advisories.body.items[0].id}`, 'CSAF-Dokument'],
      ] as const) {
        await page.goto(path);
        await page.waitForSelector(`h1:has-text("${heading}"), h2:has-text("${heading}")`);
        await page.waitForSelector('.loading', { state: 'detached' });
        const { overflow, widest } = await sidewaysOverflow(page);
        assert.ok(overflow <= 0, `${path} is ${overflow} px wider than the screen (${widest})`);
        if (checks) assert.deepEqual(await h.axe(page), [], `${path} in German at 360 px`);
      }
      assert.deepEqual(h.problems, []);
    });
  });
}
