import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticator } from 'otplib';
import { base32Decode, base32Encode, hotp, matchTotp, newTotpSecret, totpStep } from './totp.js';

describe('TOTP (RFC 6238)', () => {
  it('matches the RFC 6238 Appendix B vectors for HMAC-SHA-1', () => {
    const secret = Buffer.from('12345678901234567890', 'ascii');
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors)
      assert.equal(hotp(secret, totpStep(seconds * 1000), 8), code, `T=${seconds}`);
  });

  it('matches the RFC 4226 Appendix D HOTP vectors', () => {
    const secret = Buffer.from('12345678901234567890', 'ascii');
    const expected = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    for (const [counter, code] of expected.entries()) assert.equal(hotp(secret, BigInt(counter)), code);
  });

  it('agrees with an independent generator (otplib), one step of drift either way, and nothing else', () => {
    const secret = newTotpSecret();
    const at = Date.parse('2026-12-07T10:00:00Z');
    authenticator.options = { epoch: at };
    const code = authenticator.generate(secret);
    assert.equal(matchTotp(secret, code, at), totpStep(at));
    assert.equal(matchTotp(secret, code, at + 30_000), totpStep(at), 'a step late');
    assert.equal(matchTotp(secret, code, at - 30_000), totpStep(at), 'a step early');
    assert.equal(matchTotp(secret, code, at + 90_000), null, 'three steps away');
    assert.equal(matchTotp(secret, '12345', at), null, 'not six digits');
    assert.equal(matchTotp(secret, 'abcdef', at), null);
  });

  it('round-trips base32 and refuses what is not', () => {
    const bytes = Buffer.from('any bytes at all, even \u0000 and \u00ff');
    assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
    assert.throws(() => base32Decode('not base32!'));
  });
});
