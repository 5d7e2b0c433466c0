import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { isMailAddress, SmtpMailer } from './mailer.js';

describe('e-mail over SMTP, to a real SMTP server', () => {
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => {
    await smtp.close();
  });

  it('delivers a message with its subject, text and an Auto-Submitted header', async () => {
    const mailer = new SmtpMailer({ smtpUrl: smtp.url, from: 'Acme <noreply@acme.example>' });
    const { messageId } = await mailer.send({
      to: 'ada@example.com',
      subject: 'Rollout halted — Plug 1.2.0',
      text: 'The rollout halted: 3 devices failed to install.',
      headers: { 'X-Brickless-Event': 'rollout.halted' },
    });
    assert.ok(messageId.length > 0);
    const mail = await smtp.waitFor('ada@example.com');
    assert.equal(mail.from, 'noreply@acme.example');
    assert.match(mail.raw, /^Auto-Submitted: auto-generated/m);
    assert.match(mail.raw, /^X-Brickless-Event: rollout\.halted/m);
    assert.match(mail.raw, /3 devices failed to install/);
    mailer.close();
  });

  it('refuses a header or subject that would inject another header, and a list of recipients', async () => {
    const mailer = new SmtpMailer({ smtpUrl: smtp.url, from: 'noreply@acme.example' });
    const before = smtp.received.length;
    await assert.rejects(
      mailer.send({ to: 'ada@example.com', subject: 'hi\r\nBcc: eve@evil.example', text: 'x' }),
      /single line/,
    );
    await assert.rejects(
      mailer.send({
        to: 'ada@example.com',
        subject: 'hi',
        text: 'x',
        headers: { 'X-A': 'a\nBcc: eve@evil.example' },
      }),
      /single line/,
    );
    await assert.rejects(
      mailer.send({ to: 'ada@example.com, eve@evil.example', subject: 'hi', text: 'x' }),
      /one e-mail address/,
    );
    assert.equal(smtp.received.length, before, 'nothing was sent');
    mailer.close();
  });

  it('without an SMTP server configured, refuses saying which settings to set', async () => {
    const mailer = new SmtpMailer({});
    assert.equal(mailer.configured, false);
    await assert.rejects(
      mailer.send({ to: 'ada@example.com', subject: 's', text: 't' }),
      /mail\.smtpUrl and mail\.from/,
    );
  });

  it('a relay that refuses makes send reject (the caller retries)', async () => {
    const mailer = new SmtpMailer({ smtpUrl: smtp.url, from: 'noreply@acme.example' });
    smtp.refuse(true);
    try {
      await assert.rejects(mailer.send({ to: 'bob@example.com', subject: 's', text: 't' }), /451|try again/);
    } finally {
      smtp.refuse(false);
      mailer.close();
    }
  });

  it('accepts one plain address and nothing else', () => {
    assert.ok(isMailAddress('ada@example.com'));
    for (const bad of [
      '',
      'ada',
      'Ada <ada@example.com>',
      'a@b,c@d',
      'a b@example.com',
      `${'a'.repeat(65)}@x.example`,
    ])
      assert.equal(isMailAddress(bad), false, bad);
  });
});
