import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { AUDIENCE, decodePart, ISSUER, mint, testKey } from '@authstack/testing/tokens';
import jwt from 'jsonwebtoken';
import { type Algorithm, createVerifier, localKeySet } from '../src/index.ts';
import { ALGORITHMS } from '../src/keys.ts';

const claims = decodePart(mint(testKey()), 1);

function keyPairFor(alg: Algorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (alg === 'ES384') return generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

function verifierFor(algorithms: Algorithm[], publicKey: KeyObject) {
  return createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms,
    keys: localKeySet(() => [{ kid: 'k1', key: publicKey }]),
  });
}

describe('the Algorithm type lists only what the verifier can verify', () => {
  for (const alg of ALGORITHMS) {
    it(`when ${alg} is allowed and a token is signed with it, then the token is valid`, async () => {
      const { privateKey, publicKey } = keyPairFor(alg);
      const token = jwt.sign(claims, privateKey, {
        algorithm: alg,
        header: { alg, typ: 'at+jwt', kid: 'k1' },
      });
      const verified = await verifierFor([alg], publicKey).verify(token);
      assert.equal(verified.jti, claims.jti);
    });
  }

  it('when a key is published for RS256 and the token says PS256, then key_unknown although the key could verify it', async () => {
    const { privateKey, publicKey } = keyPairFor('PS256');
    const token = jwt.sign(claims, privateKey, {
      algorithm: 'PS256',
      header: { alg: 'PS256', typ: 'at+jwt', kid: 'k1' },
    });
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['RS256', 'PS256'],
      keys: localKeySet(() => [{ kid: 'k1', key: publicKey, alg: 'RS256' }]),
    });
    await assert.rejects(verifier.verify(token), { name: 'VerifyError', code: 'key_unknown' });
  });

  for (const alg of ['EdDSA', 'HS256', 'none']) {
    it(`when ${alg} is asked for, then the verifier refuses to be built`, () => {
      const { publicKey } = generateKeyPairSync('ed25519');
      assert.throws(
        () => verifierFor([alg as Algorithm], publicKey),
        /algorithms must be a non-empty list drawn from/,
      );
    });
  }
});
