import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalize } from '@tufjs/canonical-json';
import { TargetFile } from '@tufjs/models';
import { generateSigningKey, publicKeyObject, publicPart, signerFor } from './keys.js';
import { buildTargets, expiresDays } from './metadata.js';
import {
  checkAgainstFiles,
  formatReview,
  reviewTargets,
  signedBytes,
  signTargetsBytes,
} from './signing-review.js';

const DAY = 86_400_000;
const now = new Date('2026-12-01T00:00:00Z');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const target = (path: string, body: string, fields: Record<string, unknown> = {}) =>
  new TargetFile({
    path,
    length: body.length,
    hashes: { sha256: sha(body) },
    unrecognizedFields: { custom: { brickless: { version: '1.0.0', ...fields } } },
  });
const targets = (version: number, list: TargetFile[], days = 365) =>
  buildTargets(version, new Date(now.getTime() + days * DAY), list).toJSON() as Record<string, unknown>;

describe('what a targets key holder sees before signing', () => {
  const key = generateSigningKey('targets-1');

  it('signs exactly the canonical bytes it shows the hash of', () => {
    const metadata = targets(1, [target('p/1.0.0/fw.bin', 'image-1')]);
    const review = reviewTargets(metadata, null, [publicPart(key)], now);
    const bytes = Buffer.from(canonicalize(metadata.signed as never));
    assert.equal(review.signedSha256, createHash('sha256').update(bytes).digest('hex'));
    const [signature] = signTargetsBytes(metadata, [key]);
    assert.ok(signature);
    assert.ok(
      verify(
        null,
        signedBytes(metadata),
        publicKeyObject(key.keyval.public),
        Buffer.from(signature.sig, 'hex'),
      ),
    );
    // The same signature a tufjs Metadata#sign makes (what devices verify).
    assert.equal(signature.sig, signerFor(key)(bytes).sig);
  });

  it('lists additions, removals and changed bytes under the same path; trusts the baseline only by the signer’s key', () => {
    const previous = targets(1, [target('p/1.0.0/fw.bin', 'image-1'), target('p/0.9.0/fw.bin', 'old')]);
    previous.signatures = signTargetsBytes(previous, [key]);
    const next = targets(2, [target('p/1.0.0/fw.bin', 'EVIL'), target('p/1.1.0/fw.bin', 'image-2')]);
    const review = reviewTargets(next, previous, [publicPart(key)], now);
    assert.deepEqual(
      review.changes.map((c) => [c.kind, c.path]),
      [
        ['changed', 'p/1.0.0/fw.bin'],
        ['added', 'p/1.1.0/fw.bin'],
        ['removed', 'p/0.9.0/fw.bin'],
      ],
    );
    assert.deepEqual(review.previous?.verifiedBy, [key.keyid]);
    assert.match(formatReview(review, [publicPart(key)]), /! p\/1\.0\.0\/fw\.bin CHANGED/);
    const stranger = generateSigningKey();
    const unverified = reviewTargets(next, previous, [publicPart(stranger)], now);
    assert.deepEqual(unverified.previous?.verifiedBy, []);
    assert.match(formatReview(unverified, [publicPart(stranger)]), /NOT signed by your key/);
  });

  it('refuses delegations, expired or over-long expiry, and a version not above the last', () => {
    const delegating = targets(1, []);
    (delegating.signed as Record<string, unknown>).delegations = { keys: {}, roles: [] };
    assert.throws(() => reviewTargets(delegating, null, [], now), /delegate/);
    assert.throws(() => reviewTargets(targets(1, [], -1), null, [], now), /expired already/);
    assert.throws(() => reviewTargets(targets(1, [], 4000), null, [], now), /more than 3650 days/);
    assert.throws(() => reviewTargets(targets(1, []), targets(1, []), [], now), /not newer/);
  });

  it('checks the maker’s files: a differing image and an unvouched new target are refused', () => {
    const previous = targets(1, [target('p/1.0.0/fw.bin', 'image-1')]);
    const review = reviewTargets(
      targets(2, [
        target('p/1.0.0/fw.bin', 'image-1'),
        target('p/1.1.0/fw2.bin', 'served', { sbomSha256: sha('sbom') }),
      ]),
      previous,
      [],
      now,
    );
    const file = (name: string, body: string) => ({
      file: name,
      length: body.length,
      hashes: { sha256: sha(body) },
    });
    assert.throws(
      () => checkAgainstFiles(review, [file('build/fw2.bin', 'built')]),
      /build\/fw2\.bin .* differs from target p\/1\.1\.0\/fw2\.bin/,
    );
    assert.throws(
      () => checkAgainstFiles(review, [file('fw.bin', 'image-1')]),
      /p\/1\.1\.0\/fw2\.bin is added since the last signed targets, and no --file is this image/,
    );
    checkAgainstFiles(review, [file('fw2.bin', 'served'), file('sbom.json', 'sbom')]);
    checkAgainstFiles(review, []);
  });

  it('takes --expires-days only as a whole number from 1 to 3650', () => {
    assert.equal(expiresDays('30'), 30);
    assert.equal(expiresDays(3650), 3650);
    for (const bad of ['0', '-1', '1.5', '1e3', '', ' ', 'forever', '3651', 0, Number.NaN, null])
      assert.throws(() => expiresDays(bad), /must be a whole number of days from 1 to 3650/, String(bad));
  });
});
