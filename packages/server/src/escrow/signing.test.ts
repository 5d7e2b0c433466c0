import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  followRotations,
  loadDepositKey,
  parsePublicKey,
  publicKeyOf,
  rotateDepositKey,
  signDocument,
  verifyDocument,
} from './signing.js';

describe('deposit key signatures', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicKey = publicKeyOf(privateKey);
  const document = fc.dictionary(
    fc.string({ minLength: 1, maxLength: 8 }),
    fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
    { minKeys: 1 },
  );

  it('verifies whatever key order the document is read back in, and refuses any changed value', () => {
    fc.assert(
      fc.property(document, fc.nat(), fc.string({ maxLength: 4 }), (doc, pick, extra) => {
        const signature = signDocument(privateKey, doc);
        const reordered = Object.fromEntries(Object.entries(doc).reverse());
        assert.ok(verifyDocument(publicKey, reordered, signature));
        const keys = Object.keys(doc);
        const key = keys[pick % keys.length] as string;
        const changed = { ...doc, [key]: `${JSON.stringify(doc[key])}${extra}!` };
        assert.equal(verifyDocument(publicKey, changed, signature), false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses another key, a malformed signature and a malformed key without throwing', () => {
    const other = publicKeyOf(generateKeyPairSync('ed25519').privateKey);
    const signature = signDocument(privateKey, { a: 1 });
    assert.equal(verifyDocument(other, { a: 1 }, signature), false);
    assert.equal(verifyDocument(publicKey, { a: 1 }, 'not base64!'), false);
    assert.equal(verifyDocument('short', { a: 1 }, signature), false);
    assert.equal(verifyDocument(publicKey, { a: 1 }, undefined), false);
    assert.throws(() => parsePublicKey('nope'), /not an Ed25519 deposit public key/);
    assert.equal(parsePublicKey(publicKey), publicKey);
  });

  it('rotates the data dir key: the statement is signed by the old key and followed from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'brickless-deposit-key-'));
    try {
      const first = loadDepositKey(dir);
      const one = rotateDepositKey(dir, new Date('2026-12-01T00:00:00Z'));
      const two = rotateDepositKey(dir, new Date('2026-12-02T00:00:00Z'));
      const now = loadDepositKey(dir, { create: false });
      assert.deepEqual(now.rotations, [one, two]);
      assert.deepEqual(followRotations(first.publicKey, now.rotations), {
        key: now.publicKey,
        keys: [first.publicKey, one.statement.to, now.publicKey],
      });
      // An agent that pinned the middle key follows only the rotation after it.
      assert.deepEqual(followRotations(one.statement.to, now.rotations), {
        key: now.publicKey,
        keys: [one.statement.to, now.publicKey],
      });
      const forged = structuredClone(now.rotations);
      (forged[1] as (typeof forged)[number]).statement.to = publicKeyOf(
        generateKeyPairSync('ed25519').privateKey,
      );
      assert.match(
        String((followRotations(first.publicKey, forged) as { error: string }).error),
        /not signed/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
