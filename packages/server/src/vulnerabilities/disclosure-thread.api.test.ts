import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { MESSAGE_LIMITS } from './disclosure-thread.js';

/**
 * Issue 16 §6: the researcher's private tracking link and the exchange with the maker's security
 * role, over the real app on each database.
 */
for (const dialect of testDialects) {
  describe(`disclosure tracking link and messages (${dialect})`, () => {
    let t: TestApp;
    const tokens: Record<string, string> = {};
    let other: { slug: string; token: string };
    let secret: string;
    let disclosureId: string;
    const hostile = `<script>alert('x')</script>"><img src=x onerror=alert(2)>`;
    /** The server's log, as `brickless serve` writes it (pino at info level). */
    const logLines: string[] = [];

    const track = (path: string, headers: Record<string, string> = {}) =>
      t.app.http.inject({ method: 'GET', url: `/public/reports/${path}`, headers });
    const postForm = (token: string, message: string, headers: Record<string, string>) =>
      t.app.http.inject({
        method: 'POST',
        url: `/public/reports/${token}/messages`,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          host: 'iot.acme.example',
          ...headers,
        },
        payload: new URLSearchParams({ message }).toString(),
      });

    before(async () => {
      t = await testApp(dialect, {
        publicUrl: 'https://iot.acme.example',
        logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
      });
      tokens.admin = (await t.org('acme')).token;
      for (const role of ['security', 'auditor', 'operator']) {
        const res = await t.call('POST', '/v1/orgs/acme/tokens', { body: { name: role, role } });
        tokens[role] = res.body.token;
      }
      other = await t.org('other');
    });
    after(async () => {
      await t?.close();
    });

    it('gives the researcher a private tracking link, shown once and stored only as a hash', async () => {
      const sent = await t.call('POST', '/public/orgs/acme/report', {
        token: null,
        body: { title: 'Telnet open', description: 'Port 23 answers.', contact: 'r@example.org' },
      });
      assert.equal(sent.status, 201, sent.raw);
      assert.equal(sent.headers['cache-control'], 'no-store');
      assert.equal(sent.headers['referrer-policy'], 'no-referrer');
      const match = /^https:\/\/iot\.acme\.example\/public\/reports\/([A-Za-z0-9_-]{43})$/.exec(
        sent.body.trackingUrl,
      );
      assert.ok(match?.[1], sent.body.trackingUrl);
      secret = match[1];
      assert.equal(Buffer.from(secret, 'base64url').length, 32, '256 random bits');
      const row = await t.app.services.store.db
        .selectFrom('disclosures')
        .selectAll()
        .executeTakeFirstOrThrow();
      disclosureId = row.id;
      assert.equal(row.tracking_token_hash, createHash('sha256').update(secret).digest('hex'));
      assert.ok(!JSON.stringify(row).includes(secret), 'the secret itself is not stored');

      const view = await track(secret);
      assert.equal(view.statusCode, 200, view.body);
      assert.equal(view.headers['cache-control'], 'no-store');
      assert.equal(view.headers['referrer-policy'], 'no-referrer');
      const data = JSON.parse(view.body);
      assert.deepEqual(
        { title: data.title, status: data.status, messages: data.messages, organisation: data.organisation },
        { title: 'Telnet open', status: 'received', messages: [], organisation: 'Org acme' },
      );
      assert.equal(data.received, '2026-03-01T12:00:00.000Z');
      const form = await t.app.http.inject({
        method: 'POST',
        url: '/public/orgs/acme/report',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'title=Form&description=From+the+page',
      });
      assert.equal(form.statusCode, 201);
      assert.equal(form.headers['cache-control'], 'no-store');
      assert.match(
        form.body,
        /private tracking link: <a href="&#47;public&#47;reports&#47;[A-Za-z0-9_-]{43}">/,
      );
    });

    it('answers an unknown or garbled secret with a plain 404', async () => {
      const unknown = secret.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
      for (const path of [
        unknown,
        'short',
        `${secret}${'x'.repeat(25)}`,
        '%E2%80%AE',
        `${unknown}/messages`,
      ]) {
        const res = await track(path);
        assert.equal(res.statusCode, 404, `${path}: ${res.body}`);
        assert.equal(JSON.parse(res.body).code, 'not-found');
      }
      const post = await t.call('POST', `/public/reports/${unknown}/messages`, {
        token: null,
        body: { message: 'hello?' },
      });
      assert.equal(post.status, 404, post.raw);
    });

    it('lets researcher and maker exchange messages, kept with the report and in the audit log', async () => {
      const first = await t.call('POST', `/public/reports/${secret}/messages`, {
        token: null,
        body: { message: 'Any news?\r\nI can retest.' },
      });
      assert.equal(first.status, 201, first.raw);
      assert.equal(first.body.from, 'researcher');
      assert.equal(first.body.message, 'Any news?\nI can retest.');
      assert.equal(first.body.actor, undefined, 'the researcher sees no actor names');

      const reply = await t.call('POST', `/v1/orgs/acme/disclosures/${disclosureId}/messages`, {
        token: tokens.security,
        body: { message: 'Confirmed; a fix ships in 1.3.0.' },
      });
      assert.equal(reply.status, 201, reply.raw);
      assert.equal(reply.body.from, 'maker');
      assert.match(reply.body.actor, /^token:tok_/);

      const thread = await t.call('GET', `/v1/orgs/acme/disclosures/${disclosureId}/messages`, {
        token: tokens.security,
      });
      assert.equal(thread.status, 200, thread.raw);
      assert.deepEqual(
        thread.body.items.map((m: { from: string; actor: string }) => [m.from, m.actor.split(' ')[0]]),
        [
          ['researcher', `researcher:${disclosureId}`],
          ['maker', reply.body.actor.split(' ')[0]],
        ],
      );
      const view = JSON.parse((await track(secret)).body);
      assert.deepEqual(
        view.messages.map((m: { from: string; message: string }) => [m.from, m.message]),
        [
          ['researcher', 'Any news?\nI can retest.'],
          ['maker', 'Confirmed; a fix ships in 1.3.0.'],
        ],
      );
      assert.ok(!JSON.stringify(view).includes('tok_'), 'no token of the maker reaches the researcher');

      const audit = await t.call('GET', `/v1/orgs/acme/audit?action=disclosure.message`);
      assert.equal(audit.status, 200, audit.raw);
      const entries = audit.body.items as { actor: string; details: Record<string, unknown> }[];
      assert.deepEqual(
        entries.map((e) => e.actor.split(' ')[0]),
        [`researcher:${disclosureId}`, reply.body.actor.split(' ')[0]],
      );
      assert.equal(
        entries[0]?.details.sha256,
        createHash('sha256').update('Any news?\nI can retest.').digest('hex'),
      );
      const everything = await t.app.services.store.db.selectFrom('audit_entries').selectAll().execute();
      assert.ok(!JSON.stringify(everything).includes(secret), 'the secret never reaches the audit log');
      assert.equal((await t.call('GET', '/v1/orgs/acme/audit/verify')).body.ok, true);
    });

    it('lets auditors read the thread, only the security role write, and no other organisation either', async () => {
      const url = `/v1/orgs/acme/disclosures/${disclosureId}/messages`;
      const statuses: Record<string, number[]> = {};
      for (const role of ['admin', 'security', 'auditor', 'operator']) {
        const read = await t.call('GET', url, { token: tokens[role] as string });
        const write = await t.call('POST', url, { token: tokens[role] as string, body: { message: 'hi' } });
        statuses[role] = [read.status, write.status];
      }
      assert.deepEqual(statuses, {
        admin: [200, 201],
        security: [200, 201],
        auditor: [200, 403],
        operator: [403, 403],
      });
      // Another organisation's admin: acme is not found, and acme's report is not in theirs.
      for (const path of [url, `/v1/orgs/other/disclosures/${disclosureId}/messages`]) {
        const read = await t.call('GET', path, { token: other.token });
        const write = await t.call('POST', path, { token: other.token, body: { message: 'planted' } });
        assert.deepEqual([read.status, write.status], [404, 404], `${path}: ${read.raw} ${write.raw}`);
      }
      const thread = await t.call('GET', url, { token: tokens.auditor as string });
      assert.ok(!thread.raw.includes('planted'));
    });

    it('escapes hostile text from either side on the tracking page', async () => {
      await t.call('POST', `/public/reports/${secret}/messages`, { token: null, body: { message: hostile } });
      await t.call('POST', `/v1/orgs/acme/disclosures/${disclosureId}/messages`, {
        token: tokens.security,
        body: { message: `Reply ${hostile}` },
      });
      const page = await track(secret, { accept: 'text/html' });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
      assert.equal(page.headers['referrer-policy'], 'no-referrer');
      assert.ok(!page.body.includes('<script>') && !page.body.includes('<img'), page.body);
      assert.equal(page.body.split('&#60;script&#62;alert(&#39;x&#39;)&#60;&#47;script&#62;').length, 3);
    });

    it('refuses an oversized message, control characters and an unreadable body with a clear problem', async () => {
      const long = await t.call('POST', `/public/reports/${secret}/messages`, {
        token: null,
        body: { message: 'x'.repeat(MESSAGE_LIMITS.characters + 1) },
      });
      assert.equal(long.status, 400, long.raw);
      assert.equal(long.body.code, 'validation-failed');
      assert.equal(long.body.errors?.[0]?.field, '/message');
      assert.match(long.body.detail, /at most 10000 characters \(this one has 10001\)/);
      const maker = await t.call('POST', `/v1/orgs/acme/disclosures/${disclosureId}/messages`, {
        token: tokens.security,
        body: { message: 'y'.repeat(MESSAGE_LIMITS.characters + 1) },
      });
      assert.equal(maker.status, 400, maker.raw);
      const huge = await t.call('POST', `/public/reports/${secret}/messages`, {
        token: null,
        body: { message: 'z'.repeat(200_000) },
      });
      assert.equal(huge.status, 413, huge.raw);
      const control = await postForm(secret, 'bell\u0007', { origin: 'https://iot.acme.example' });
      assert.equal(control.statusCode, 400, control.body);
      assert.match(control.body, /control character U\+0007/);
      const blank = await t.call('POST', `/public/reports/${secret}/messages`, {
        token: null,
        body: { message: ' \n ' },
      });
      assert.equal(blank.status, 400, blank.raw);
    });

    it('takes a form post only from its own origin, then shows the page again', async () => {
      const count = async () =>
        (await t.call('GET', `/v1/orgs/acme/disclosures/${disclosureId}/messages`)).body.items.length;
      const before = await count();
      for (const headers of [
        {} as Record<string, string>,
        { origin: 'https://evil.example' },
        { origin: 'null' },
        { origin: 'https://iot.acme.example', 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site' },
      ]) {
        const res = await postForm(secret, 'from elsewhere', headers);
        assert.equal(res.statusCode, 403, `${JSON.stringify(headers)}: ${res.body}`);
      }
      assert.equal(await count(), before, 'nothing stored from another origin');
      const plain = await t.app.http.inject({
        method: 'POST',
        url: `/public/reports/${secret}/messages`,
        headers: { 'content-type': 'text/plain' },
        payload: 'message=hi',
      });
      assert.ok(plain.statusCode === 400 || plain.statusCode === 415, plain.body);
      for (const headers of [
        // What Chromium sends from the tracking page (no-referrer turns Origin into null).
        { origin: 'null', 'sec-fetch-site': 'same-origin' } as Record<string, string>,
        { origin: 'http://localhost:8443', host: 'localhost:8443' },
      ]) {
        const ok = await postForm(secret, 'From the page.', headers);
        assert.equal(ok.statusCode, 303, ok.body);
        assert.equal(ok.headers.location, `/public/reports/${secret}#messages`);
        assert.equal(ok.headers['referrer-policy'], 'no-referrer');
      }
      assert.equal(await count(), before + 2);
    });

    it('keeps the secret out of the server log', () => {
      const log = logLines.join('');
      assert.match(log, /"url":"\/public\/orgs\/acme\/report"/, 'requests are logged at info level');
      assert.ok(!log.includes(secret), 'but not those with the secret in their path');
    });

    it('limits tracking-link requests per address like the intake', async () => {
      t.clock.advance(3_600_000);
      let seen = 0;
      let status = 200;
      while (status === 200 && seen <= MESSAGE_LIMITS.trackingPerAddressPerHour) {
        status = (await track('garbled-but-long-enough-000')).statusCode === 404 ? 200 : 429;
        seen++;
      }
      assert.equal(status, 429);
      assert.equal(seen, MESSAGE_LIMITS.trackingPerAddressPerHour + 1);
      assert.equal((await track(secret)).statusCode, 429, 'a valid link waits too');
      t.clock.advance(3_600_000);
      assert.equal((await track(secret)).statusCode, 200);
    });

    it('shows one report to the security role, pages the inbox, and keeps both inside the organisation', async () => {
      const one = await t.call('GET', `/v1/orgs/acme/disclosures/${disclosureId}`, {
        token: tokens.security,
      });
      assert.equal(one.status, 200, one.raw);
      assert.equal(one.body.title, 'Telnet open');
      assert.equal(
        (await t.call('GET', `/v1/orgs/acme/disclosures/${disclosureId}`, { token: tokens.auditor })).status,
        200,
        'the auditor reads the inbox (security:read) ...',
      );
      assert.equal(
        (
          await t.call('PATCH', `/v1/orgs/acme/disclosures/${disclosureId}`, {
            token: tokens.auditor,
            body: { status: 'triaging' },
          })
        ).status,
        403,
        '... and changes nothing in it',
      );
      assert.equal(
        (await t.call('GET', `/v1/orgs/acme/disclosures/${disclosureId}`, { token: tokens.operator })).status,
        403,
        "an operator does not read researchers' reports",
      );
      assert.equal(
        (await t.call('GET', `/v1/orgs/other/disclosures/${disclosureId}`, { token: other.token })).status,
        404,
      );
      await t.call('POST', '/public/orgs/acme/report', {
        token: null,
        body: { title: 'Second', description: 'Another one.' },
      });
      const first = await t.call('GET', '/v1/orgs/acme/disclosures?limit=1', { token: tokens.security });
      assert.equal(first.body.items.length, 1);
      assert.ok(first.body.nextCursor, first.raw);
      const second = await t.call(
        'GET',
        `/v1/orgs/acme/disclosures?limit=1&cursor=${first.body.nextCursor}`,
        { token: tokens.security },
      );
      assert.equal(second.body.items.length, 1);
      assert.notEqual(second.body.items[0].id, first.body.items[0].id);
      const all = await t.call('GET', '/v1/orgs/acme/disclosures', { token: tokens.security });
      assert.equal(all.body.nextCursor, null, 'without limit the whole inbox, as the CLI reads it');
      assert.ok(all.body.items.length >= 3, all.raw);
    });
  });
}
