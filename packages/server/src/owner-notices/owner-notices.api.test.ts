import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { endpointRecordBody, signEndpointRecord } from '../continuity/endpoints.js';
import { OWNER_SESSION_COOKIE } from '../owners/sign-in.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type Response, type TestApp, testApp } from '../test-support/app.js';
import { type ReceivedMail, startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { checkEndOfSupportAhead } from './producers.js';

interface OwnerBrowser {
  cookie: string;
  csrf: string;
  id: string;
  email: string;
}

/** Quoted-printable as the mail left the server (RFC 2045 §6.7): soft breaks and =XX escapes undone. */
const unQuote = (raw: string) =>
  Buffer.from(
    raw
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    'latin1',
  ).toString('utf8');
/** The HTML part of a mail, decoded. */
const htmlPart = (mail: ReceivedMail) => {
  const at = mail.raw.indexOf('Content-Type: text/html');
  assert.ok(at > 0, 'the mail has an HTML part');
  const rest = mail.raw.slice(at);
  return unQuote(rest.slice(rest.indexOf('\r\n\r\n'), rest.indexOf('\r\n--')));
};

for (const dialect of testDialects) {
  describe(`what owners are told: notices by e-mail and in the API (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    const clock = new ManualClock('2026-03-02T09:00:00.000Z');
    const keys = makerKeys();
    let org: { id: string };
    let plug: string;
    let hostile: string;
    const dev: Record<string, { deviceId: string; claimCode: string }> = {};
    let ana: OwnerBrowser;
    let ben: OwnerBrowser;
    let releaseId: string;

    const as = async (
      who: OwnerBrowser | null,
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      body?: unknown,
    ): Promise<Response> => {
      const r = await t.app.http.inject({
        method,
        url,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(who ? { cookie: who.cookie, 'x-csrf-token': who.csrf } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      const raw = r.body;
      return { status: r.statusCode, body: raw ? JSON.parse(raw) : null, headers: r.headers, raw };
    };
    const signIn = async (email: string, acceptLanguage: string): Promise<OwnerBrowser> => {
      const count = smtp.received.length;
      assert.equal((await as(null, 'POST', '/v1/owner/sign-in', { email })).status, 202);
      await smtp.waitFor(email, /sign-in#/);
      // The newest link for this address (an earlier one is used already).
      const mail = smtp.received
        .slice(count)
        .reverse()
        .find((m) => m.to.includes(email) && /sign-in#/.test(m.raw));
      assert.ok(mail, `a new link reached ${email}`);
      const token = /sign-in#([A-Za-z0-9_-]{43})/.exec(unQuote(mail.raw))?.[1];
      const done = await t.app.http.inject({
        method: 'POST',
        url: '/v1/owner/sign-in/complete',
        headers: { 'content-type': 'application/json', 'accept-language': acceptLanguage },
        payload: JSON.stringify({ token }),
      });
      assert.equal(done.statusCode, 200, done.body);
      const cookie = [done.headers['set-cookie']]
        .flat()
        .map(String)
        .find((c) => c.startsWith(`${OWNER_SESSION_COOKIE}=`));
      const body = JSON.parse(done.body);
      return {
        cookie: String(cookie).split(';')[0] as string,
        csrf: body.csrfToken,
        id: body.owner.id,
        email,
      };
    };
    const claim = async (who: OwnerBrowser, serial: string) => {
      const r = await as(who, 'POST', '/v1/owner/claims', { code: dev[serial]?.claimCode });
      assert.equal(r.status, 201, r.raw);
    };
    const notices = async (who: OwnerBrowser, q = '') => {
      const r = await as(who, 'GET', `/v1/owner/notices${q}`);
      assert.equal(r.status, 200, r.raw);
      return r.body as {
        items: Array<{
          id: string;
          kind: string;
          title: string;
          body: string;
          deviceId: string | null;
          email: string;
        }>;
        unread: number;
        nextCursor: string | null;
      };
    };
    const mailsTo = (who: OwnerBrowser, kind: string) =>
      smtp.received.filter(
        (m) =>
          m.to.includes(who.email) && new RegExp(`^X-Brickless-Owner-Notice: ${kind}\\r?$`, 'm').test(m.raw),
      );
    const run = () => t.app.services.notifier.run();

    before(async () => {
      smtp = await startSmtpServer();
      t = await testApp(dialect, {
        clock,
        publicUrl: 'https://owners.test',
        mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      });
      org = await t.org('acme');
      const product = async (name: string, modelNumber: string, supportEnds: string) => {
        const r = await t.call('POST', '/v1/orgs/acme/products', {
          body: { modelNumber, name, hardwareRevision: 'A', supportEnds, capabilities: plugCapabilities },
        });
        assert.equal(r.status, 201, r.raw);
        return r.body.id as string;
      };
      plug = await product('Smart plug', 'PLUG-1', '2031-12-31');
      // A maker's product name is outside text for an owner's mail: it must never become markup.
      hostile = await product('<script>alert("x")</script> & <b>Lamp</b>', 'LAMP-1', '2026-08-01');
      for (const [productId, serials] of [
        [plug, ['SN-1', 'SN-2', 'SN-3']],
        [hostile, ['H-1']],
      ] as const) {
        const made = await t.call('POST', '/v1/orgs/acme/provisioning', {
          body: { productId, serials, firmwareVersion: '1.0.0' },
        });
        assert.equal(made.status, 201, made.raw);
        for (const d of made.body.devices) dev[d.serial] = d;
      }
      await initRepository(t, 'acme', keys);
      releaseId = await createRelease(t, 'acme', plug, Buffer.from('image 1.1.0'), {
        version: '1.1.0',
        kind: 'security',
        securityVersion: 2,
      });
      assert.equal((await signTargets(t, 'acme', [keys.targets[0] as never])).published, true);
      ana = await signIn('ana@example.com', 'de-DE,de;q=0.9,en;q=0.5');
      ben = await signIn('ben@example.com', 'fr-FR');
    });
    after(async () => {
      await t.close();
      await smtp.close();
    });

    it('a new account reads notices in the browser’s language; the owner can change it', async () => {
      assert.equal((await as(ana, 'GET', '/v1/owner/me')).body.language, 'de');
      assert.equal((await as(ben, 'GET', '/v1/owner/me')).body.language, 'en', 'French: English');
      const bad = await as(ben, 'PATCH', '/v1/owner/me', { language: 'fr' });
      assert.equal(bad.status, 400, bad.raw);
      const noCsrf = await t.app.http.inject({
        method: 'PATCH',
        url: '/v1/owner/me',
        headers: { cookie: ben.cookie, 'content-type': 'application/json' },
        payload: JSON.stringify({ language: 'de' }),
      });
      assert.equal(noCsrf.statusCode, 403);
      const set = await as(ben, 'PATCH', '/v1/owner/me', { language: 'en' });
      assert.equal(set.status, 200, set.raw);
    });

    it('a claim tells the owner the support period, by e-mail in their language and in the list; once per product and date', async () => {
      await claim(ana, 'SN-1');
      await claim(ben, 'SN-2');
      await run();
      const mine = await notices(ana);
      assert.equal(mine.items.length, 1);
      assert.equal(mine.unread, 1);
      assert.equal(mine.items[0]?.kind, 'support-period');
      assert.equal(mine.items[0]?.email, 'sent');
      assert.match(mine.items[0]?.title ?? '', /Sicherheitsupdates bis 2031-12-31/);
      const [de] = mailsTo(ana, 'support-period');
      assert.ok(de, 'ana got the mail');
      assert.match(de.raw, /^Subject: Smart plug: Sicherheitsupdates bis 2031-12-31\r?$/m);
      assert.match(unQuote(de.raw), /kostenlose Sicherheitsupdates bis einschließlich 2031-12-31/);
      assert.match(unQuote(de.raw), /Seriennummer\): SN-1/);
      const [en] = mailsTo(ben, 'support-period');
      assert.ok(en, 'ben got the mail');
      assert.match(en.raw, /^Subject: Smart plug: security updates until 2031-12-31\r?$/m);
      assert.match(unQuote(en.raw), /free security updates for Smart plug \(model PLUG-1\) until 2031-12-31/);
      assert.match(unQuote(en.raw), /All notices: https:\/\/owners\.test\/v1\/owner\/notices/);
      // A second device of the same product, same date: nothing new to say.
      await claim(ana, 'SN-3');
      await run();
      assert.equal((await notices(ana)).items.length, 1);
      assert.equal(mailsTo(ana, 'support-period').length, 1);
    });

    it('another owner never sees a notice: not in the list, not by id; no session, no notices', async () => {
      const anas = (await notices(ana)).items.map((n) => n.id);
      const bens = (await notices(ben)).items.map((n) => n.id);
      assert.ok(anas.every((id) => !bens.includes(id)));
      const foreign = await as(ben, 'POST', `/v1/owner/notices/${anas[0]}/read`);
      assert.equal(foreign.status, 404, foreign.raw);
      assert.equal((await as(null, 'GET', '/v1/owner/notices')).status, 401);
      const staff = await t.call('GET', '/v1/owner/notices');
      assert.equal(staff.status, 403, staff.raw);
      const badId = await as(ana, 'POST', '/v1/owner/notices/onx_%3Cscript%3E/read');
      assert.equal(badId.status, 400, badId.raw);
      const badQuery = await as(ana, 'GET', '/v1/owner/notices?limit=0&kind=nope');
      assert.equal(badQuery.status, 400, badQuery.raw);
    });

    it('a new support end date is told to every holder of the product, once per owner naming their devices', async () => {
      const changed = await t.call('PATCH', `/v1/orgs/acme/products/${plug}`, {
        body: { supportEnds: '2032-06-30' },
      });
      assert.equal(changed.status, 200, changed.raw);
      await run();
      const [anaNotice] = (await notices(ana, '?kind=support-period')).items;
      assert.match(anaNotice?.title ?? '', /jetzt bis 2032-06-30/);
      assert.match(anaNotice?.body ?? '', /bisher 2031-12-31/);
      assert.match(anaNotice?.body ?? '', /SN-1, SN-3/);
      const [benMail] = mailsTo(ben, 'support-period').slice(-1);
      assert.match(unQuote(benMail?.raw ?? ''), /now come until 2032-06-30 \(was 2031-12-31\)/);
      assert.equal(mailsTo(ana, 'support-period').length, 2);
    });

    it('a rollout reaching a device tells its holder a security update is coming; once, however often it is offered', async () => {
      const ids = [dev['SN-1']?.deviceId, dev['SN-2']?.deviceId] as string[];
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 1 })
        .where('id', 'in', ids)
        .execute();
      const rollout = await t.call('POST', '/v1/orgs/acme/rollouts', {
        body: {
          releaseId,
          name: 'spring',
          selector: { deviceIds: ids },
          waves: [100],
          failureThreshold: 0.5,
        },
      });
      assert.equal(rollout.status, 201, rollout.raw);
      await t.app.services.rolloutEngine.tick();
      await run();
      clock.advance(2 * 3_600_000);
      await t.app.services.rolloutEngine.tick();
      await run();
      const anas = (await notices(ana, '?kind=update-available')).items;
      assert.equal(anas.length, 1, 'offered twice, told once');
      assert.equal(anas[0]?.deviceId, dev['SN-1']?.deviceId);
      assert.match(anas[0]?.title ?? '', /^Sicherheitsupdate 1\.1\.0 für Smart plug verfügbar$/);
      const [benMail] = mailsTo(ben, 'update-available');
      assert.match(benMail?.raw ?? '', /^Subject: Security update 1\.1\.0 available for Smart plug\r?$/m);
      assert.match(unQuote(benMail?.raw ?? ''), /fixes security vulnerabilities and is free/);
      assert.equal(mailsTo(ben, 'update-available').length, 1);
    });

    it('the device reporting the new version tells its holder it is installed', async () => {
      await t.app.services.rolloutEngine.report(
        org.id,
        dev['SN-1']?.deviceId as string,
        {
          step: 'succeeded',
          version: '1.1.0',
        } as never,
      );
      await run();
      const [installed] = (await notices(ana, '?kind=update-installed')).items;
      assert.match(installed?.title ?? '', /Smart plug: Version 1\.1\.0 installiert/);
      assert.equal(mailsTo(ana, 'update-installed').length, 1);
      assert.equal((await notices(ben, '?kind=update-installed')).items.length, 0, 'not ben: not his device');
    });

    it('a released device stops producing notices for its former owner, and an e-mail not yet sent is not sent', async () => {
      const sn2 = dev['SN-2']?.deviceId as string;
      await t.app.services.rolloutEngine.report(org.id, sn2, {
        step: 'succeeded',
        version: '1.1.0',
      } as never);
      await t.app.services.notifier.fanOut();
      const pending = (await notices(ben, '?kind=update-installed')).items;
      assert.equal(pending[0]?.email, 'pending');
      assert.equal((await as(ben, 'DELETE', `/v1/owner/devices/${sn2}`)).status, 204);
      await run();
      assert.equal((await notices(ben, '?kind=update-installed')).items[0]?.email, 'muted');
      assert.equal(mailsTo(ben, 'update-installed').length, 0);
      await t.app.services.rolloutEngine.report(org.id, sn2, {
        step: 'succeeded',
        version: '1.1.1',
      } as never);
      const changed = await t.call('PATCH', `/v1/orgs/acme/products/${plug}`, {
        body: { supportEnds: '2033-01-31' },
      });
      assert.equal(changed.status, 200, changed.raw);
      await run();
      const after = (await notices(ben)).items;
      assert.ok(
        !after.some((n) => /1\.1\.1|2033-01-31/.test(n.title)),
        'nothing new about a device he gave up',
      );
      assert.ok(
        (await notices(ana)).items.some((n) => /2033-01-31/.test(n.title)),
        'ana still hears',
      );
    });

    it('the end of support ahead: once per device and lead, retried when the mail relay refuses, hostile names escaped', async () => {
      // A refusing relay never holds up what triggers a notice: the claim answers at once.
      smtp.refuse(true);
      await claim(ben, 'H-1');
      // 2026-03-02 to 2026-08-01: 152 days, inside the 180-day lead.
      assert.equal(await checkEndOfSupportAhead(t.app.services), 1);
      assert.equal(await checkEndOfSupportAhead(t.app.services), 0, 'idempotent');
      const refused = await run();
      assert.ok(refused.mailFailures >= 1);
      const [waiting] = (await notices(ben, '?kind=end-of-support-ahead')).items;
      assert.equal(waiting?.email, 'pending');
      smtp.refuse(false);
      clock.advance(61_000);
      await run();
      assert.equal((await notices(ben, '?kind=end-of-support-ahead')).items[0]?.email, 'sent');
      assert.equal((await notices(ben, '?kind=support-period')).items[0]?.email, 'sent', 'retried too');
      const [mail] = mailsTo(ben, 'end-of-support-ahead');
      assert.ok(mail);
      assert.match(unQuote(mail.raw), /security updates for .* until 2026-08-01 \(152 days from now\)/);
      assert.match(
        unQuote(mail.raw),
        /export your data at any time: https:\/\/owners\.test\/v1\/owner\/export/,
      );
      const html = htmlPart(mail);
      assert.ok(!/<script|<b>/i.test(html), html);
      assert.match(html, /&#60;script&#62;alert\(&#34;x&#34;\)&#60;&#47;script&#62;/);
      for (const m of mailsTo(ben, 'support-period')) assert.ok(!/<script/i.test(htmlPart(m)));
      // 27 days left: the 30-day lead, once.
      clock.set('2026-07-05T09:00:00.000Z');
      // Months passed: the sessions ended. Signing in again keeps the account's language.
      ana = await signIn('ana@example.com', 'en');
      ben = await signIn('ben@example.com', 'en');
      assert.equal(await checkEndOfSupportAhead(t.app.services), 1);
      assert.equal(await checkEndOfSupportAhead(t.app.services), 0);
      await run();
      assert.equal(mailsTo(ben, 'end-of-support-ahead').length, 2);
      assert.equal((await notices(ana, '?kind=end-of-support-ahead')).items.length, 0);
    });

    it('a sunset tells the holders the date, local mode in brief and where to export their data', async () => {
      const record = signEndpointRecord(
        endpointRecordBody({
          org: org.id,
          version: 1,
          issued: clock.now().toISOString(),
          mode: 'local',
          products: [plug],
        }),
        [keys.root[0], keys.escrow] as never,
      );
      const sunset = await t.call('POST', `/v1/orgs/acme/products/${plug}/sunset`, {
        body: { record, message: 'Acme stops its cloud.\r\nYour plug keeps working at home. <i>Thanks</i>' },
      });
      assert.equal(sunset.status, 201, sunset.raw);
      await run();
      await run();
      const [notice] = (await notices(ana, '?kind=sunset')).items;
      assert.ok(notice);
      assert.match(notice.title, /Der Hersteller beendet den Dienst \(seit 2026-07-05\)/);
      assert.match(notice.body, /lokalen Modus/);
      assert.match(notice.body, /https:\/\/owners\.test\/public\/docs\/local-mode\.md/);
      assert.match(notice.body, /https:\/\/owners\.test\/v1\/owner\/export/);
      assert.match(notice.body, /Acme stops its cloud\. Your plug keeps working at home\./);
      assert.equal(mailsTo(ana, 'sunset').length, 1, 'once');
      assert.ok(!/<i>/.test(htmlPart(mailsTo(ana, 'sunset')[0] as ReceivedMail)));
      assert.equal((await notices(ben, '?kind=sunset')).items.length, 0, 'ben holds no plug any more');
    });

    it('lists newest first in pages, with the unread count; read one, read all', async () => {
      const all = await notices(ana);
      assert.ok(all.items.length >= 5);
      assert.equal(all.unread, all.items.length);
      const first = await notices(ana, '?limit=2');
      assert.equal(first.items.length, 2);
      const second = await notices(ana, `?limit=2&cursor=${first.nextCursor}`);
      assert.deepEqual(
        [...first.items, ...second.items].map((n) => n.id),
        all.items.slice(0, 4).map((n) => n.id),
      );
      const read = await as(ana, 'POST', `/v1/owner/notices/${all.items[0]?.id}/read`);
      assert.equal(read.status, 200, read.raw);
      assert.equal((await notices(ana)).unread, all.items.length - 1);
      assert.equal((await notices(ana, '?unread=true')).items.length, all.items.length - 1);
      const again = await as(ana, 'POST', `/v1/owner/notices/${all.items[0]?.id}/read`);
      assert.equal(again.body.readAt, read.body.readAt, 'the first time stays');
      const rest = await as(ana, 'POST', '/v1/owner/notices/read-all');
      assert.equal(rest.body.read, all.items.length - 1);
      assert.equal((await notices(ana)).unread, 0);
    });
  });
}
