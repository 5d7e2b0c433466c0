import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';

/**
 * The first hour in the console (issue 17): the first platform administrator signs in to a server
 * with no organisation yet, is led to create one, and works in it at once; a person without any
 * organisation is told whom to ask.
 */
describe('the console on a fresh server', { skip: consoleSkip }, () => {
  let h: ConsoleHarness;

  before(async () => {
    h = await startConsole('sqlite');
  });
  after(async () => {
    await h?.close();
  });

  it('leads the first platform administrator to create an organisation, then into it', async () => {
    const root = await h.person(null, [], 'root');
    const page = await h.page();
    await h.signIn(page, root);
    await page.waitForSelector('h1:has-text("Organisations")');
    assert.match((await page.textContent('.empty')) ?? '', /Create the first one below/);
    const nav = await page.locator('nav.sidenav a').allTextContents();
    assert.deepEqual(
      nav,
      ['Settings', 'Organisations', 'API docs'],
      'only what works without an organisation',
    );
    assert.deepEqual(await h.axe(page), [], 'no organisation yet');
    await page.focus('#org-name');
    await page.keyboard.type('Acme Devices');
    await page.keyboard.press('Tab');
    await page.keyboard.type('acme');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.notice:has-text("Organisation Acme Devices created")');
    await page.waitForSelector('nav.sidenav a:has-text("Products")');
    assert.equal(await page.textContent('.org-name'), 'Acme Devices');
    await page.click('nav.sidenav >> text=Products');
    await page.waitForSelector('#product-name');
    const orgs = await h.t.call('GET', '/v1/orgs');
    assert.deepEqual(
      orgs.body.items.map((o: { slug: string }) => o.slug),
      ['acme'],
    );
    // A duplicate short name is refused in words, at the form.
    await page.goto('/organisations');
    await page.waitForSelector('#org-slug');
    await page.fill('#org-name', 'Again');
    await page.fill('#org-slug', 'acme');
    await page.press('#org-slug', 'Enter');
    await page.waitForSelector('[role=alert]');
    assert.match((await page.textContent('[role=alert]')) ?? '', /acme/);
    assert.deepEqual(await h.axe(page), [], 'the organisations page with an error');
    await h.screenshot(page, 'organisations');
    assert.deepEqual(h.problems, []);
  });

  it('tells a person who belongs nowhere whom to ask', async () => {
    await h.t.org('lonely');
    const someone = await h.person('lonely', ['auditor']);
    // The organisation goes away with its membership (delete refuses non-empty ones; remove the person instead).
    const people = await h.t.call('GET', '/v1/orgs/lonely/people');
    const person =
      people.body.items?.find?.((p: { email: string }) => p.email === someone.email) ??
      people.body.find?.((p: { email: string }) => p.email === someone.email);
    assert.ok(person, people.raw);
    const page = await h.page();
    await h.signIn(page, someone);
    await page.waitForSelector('h1');
    const removed = await h.t.call('DELETE', `/v1/orgs/lonely/people/${person.id}`);
    assert.ok([200, 204].includes(removed.status), removed.raw);
    await page.reload();
    await page.waitForSelector('main .alert');
    assert.match((await page.textContent('main .alert')) ?? '', /Ask an administrator for an invitation/);
    assert.deepEqual(await h.axe(page), []);
    assert.deepEqual(h.problems, []);
  });
});
