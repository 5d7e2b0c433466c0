import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownerNoticeKinds } from './catalogue.js';
import { ownerMail, ownerNoticeText } from './texts.js';

const data: Record<string, Record<string, unknown>> = {
  'support-period': { productId: 'prd_1', supportEnds: '2031-12-31', previous: null, deviceIds: ['d'] },
  'update-available': {
    productId: 'prd_1',
    releaseId: 'rel_1',
    version: '1.1.0',
    security: true,
    deviceIds: ['d'],
  },
  'update-installed': { productId: 'prd_1', deviceId: 'd', version: '1.1.0' },
  'end-of-support-ahead': {
    productId: 'prd_1',
    deviceId: 'd',
    supportEnds: '2031-12-31',
    leadDays: 30,
    daysLeft: 29,
  },
  sunset: {
    productId: 'prd_1',
    orgSlug: 'acme',
    recordVersion: 1,
    publishedAt: '2030-01-01T00:00:00Z',
    message: 'm',
  },
};
const hostile = {
  productName: 'Plug\r\nBcc: evil@example.test\u2028<img src=x onerror=alert(1)>',
  modelNumber: 'M\u0000',
  serials: ['S\nX'],
  publicUrl: 'https://owners.test',
};

describe('owner notice texts', () => {
  it('every kind has an English and a German text, and they differ', () => {
    for (const kind of ownerNoticeKinds) {
      const ctx = { productName: 'Plug', modelNumber: 'P-1', serials: ['SN-1'], publicUrl: null };
      const en = ownerNoticeText(kind, data[kind] as Record<string, unknown>, ctx, 'en');
      const de = ownerNoticeText(kind, data[kind] as Record<string, unknown>, ctx, 'de');
      assert.ok(en.title && en.body && de.title && de.body, kind);
      assert.notEqual(en.body, de.body, kind);
      assert.match(en.body, /SN-1/, kind);
    }
  });

  it('a support period that has ended is told as ended', () => {
    const ctx = {
      productName: 'Plug',
      modelNumber: 'P-1',
      serials: ['SN-1'],
      publicUrl: null,
      today: '2032-01-01',
    };
    const d = data['support-period'] as Record<string, unknown>;
    assert.match(
      ownerNoticeText('support-period', d, ctx, 'en').title,
      /security updates ended on 2031-12-31/,
    );
    assert.match(
      ownerNoticeText('support-period', d, ctx, 'de').title,
      /Sicherheitsupdates endeten am 2031-12-31/,
    );
    const running = { ...ctx, today: '2031-12-31' };
    assert.match(ownerNoticeText('support-period', d, running, 'en').title, /until 2031-12-31/);
  });

  it('outside text never breaks a line of the subject, and the HTML part escapes it', () => {
    for (const kind of ownerNoticeKinds) {
      const text = ownerNoticeText(kind, data[kind] as Record<string, unknown>, hostile, 'en');
      const mail = ownerMail(text, 'en', 'https://owners.test/v1/owner/notices');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for them is the point
      assert.ok(!/[\u0000-\u001f\u2028]/.test(mail.subject), kind);
      assert.ok(!/[\r\u2028]/.test(text.body) && !text.body.includes('\n'), kind);
      assert.ok(!mail.html.includes('<img'), kind);
      assert.match(mail.html, /&#60;img src&#61;x/);
    }
  });
});
