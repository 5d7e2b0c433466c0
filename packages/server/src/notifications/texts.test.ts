import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestApp, testApp } from '../test-support/app.js';
import { EVENT_TYPES } from './catalogue.js';
import { startNotificationJobs } from './jobs.js';
import { languages, mailText, noticeText, oneLine } from './texts.js';

const sample: Record<string, Record<string, unknown>> = {
  'rollout.halted': {
    rolloutId: 'rol_1',
    rolloutName: 'spring',
    releaseId: 'rel_1',
    version: '1.2.0',
    failed: 3,
    reason: 'too many',
  },
  'exposure.new': {
    vulnerabilityId: 'CVE-2022-0847',
    severity: 'high',
    kev: true,
    devices: 4,
    products: ['Plug'],
  },
  'report.deadline': {
    reportCaseId: 'rpc_1',
    vulnerabilityId: 'CVE-1',
    stage: 'early-warning',
    dueAt: '2026-01-01T00:00:00Z',
    hoursLeft: 5,
  },
  'disclosure.received': { disclosureId: 'dsc_1', title: 'Telnet\r\nBcc: eve@evil.example' },
  'escrow.failed': { what: 'deposit', reason: 'disk full' },
  'signing.expiring': { role: 'targets', expiresAt: '2026-01-01T00:00:00Z', daysLeft: 10 },
  'continuity.warning': { code: 'drill-old', message: 'The last drill is old.' },
  'webhook.test': { message: 'hi' },
};

describe('notice texts in English and German', () => {
  it('every event type has a one-line title, a body and a console path in both languages', () => {
    for (const t of EVENT_TYPES)
      for (const lang of languages) {
        const text = noticeText(t.type, sample[t.type] ?? {}, lang);
        assert.ok(text.title.length > 0 && !/[\r\n]/.test(text.title), `${t.type} ${lang}`);
        assert.ok(text.body.length > (t.type === 'webhook.test' ? 0 : 40), `${t.type} ${lang}`);
        assert.match(text.path, /^\//);
      }
    assert.notEqual(
      noticeText('rollout.halted', sample['rollout.halted'] ?? {}, 'de').title,
      noticeText('rollout.halted', sample['rollout.halted'] ?? {}, 'en').title,
    );
  });

  it('flattens outside text: a researcher’s title cannot add a line, a subject cannot inject a header', () => {
    const text = noticeText('disclosure.received', sample['disclosure.received'] ?? {}, 'en');
    assert.doesNotMatch(text.body, /\r|\n/);
    const mail = mailText({ ...text, link: null }, 'Acme\r\nBcc: x@y', 'en');
    assert.doesNotMatch(mail.subject, /[\r\n]/);
    assert.equal(oneLine('a\u0000b\u2028c', 200), 'a b c');
    assert.equal(oneLine('x'.repeat(300), 10).length, 10);
  });
});

describe('the notification jobs without an SMTP server', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp('sqlite');
  });
  after(async () => t.close());

  it('log once at start that e-mail is off, naming the settings', async () => {
    const lines: string[] = [];
    const stop = startNotificationJobs(
      t.app.services,
      { info: (m) => lines.push(m), error: (e) => lines.push(`error ${String(e)}`) },
      { notifyMs: 60_000, checkMs: 60_000 },
    );
    stop();
    // The first time-based check starts at once; let it finish before the database closes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(lines.filter((l) => /e-mail is off/.test(l)).length, 1);
    assert.match(lines[0] ?? '', /mail\.smtpUrl and mail\.from/);
  });
});
