import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIENCE, ISSUER, jwksServer, mint, testKey } from '@authstack/testing/tokens';
import {
  createVerifier,
  importJwks,
  KeySetUnavailableError,
  localKeySet,
  remoteKeySet,
  type VerifierOptions,
  VerifyError,
} from '../src/index.ts';

const rsa = testKey('RS256');
const ec = testKey('ES256');
const keys = localKeySet(() => [
  { kid: rsa.kid, key: rsa.publicKey },
  { kid: ec.kid, key: ec.publicKey },
]);

function verifier(options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, ...options });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'valid';
  } catch (error) {
    assert.ok(error instanceof VerifyError, `expected a VerifyError, got ${String(error)}`);
    return error.code;
  }
}

describe('createVerifier policy', () => {
  it('when the token is valid, then typed claims come back', async () => {
    const claims = await verifier().verify(mint(rsa, { claims: { roles: ['user', 'admin'] } }));
    assert.equal(claims.username, 'alice');
    assert.deepEqual(claims.roles, ['user', 'admin']);
  });

  it('when exp is just past the leeway, then token_expired; just inside, then valid', async () => {
    // The verifier's clock is the test's: a second ticking over between minting and checking cannot move the edge.
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    const v = verifier({ clockToleranceSec: 10, cacheSize: 0, now: () => nowMs });
    assert.equal(
      await codeOf(v.verify(mint(rsa, { claims: { iat: now - 100, exp: now - 11 } }))),
      'token_expired',
    );
    assert.equal(await codeOf(v.verify(mint(rsa, { claims: { iat: now - 100, exp: now - 9 } }))), 'valid');
  });

  it('when nbf or iat lie in the future beyond the leeway, then token_not_yet_valid', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal(
      await codeOf(verifier().verify(mint(rsa, { claims: { nbf: now + 60 } }))),
      'token_not_yet_valid',
    );
    assert.equal(
      await codeOf(verifier().verify(mint(rsa, { claims: { iat: now + 60, exp: now + 360 } }))),
      'token_not_yet_valid',
    );
    assert.equal(await codeOf(verifier().verify(mint(rsa, { claims: { nbf: now + 5 } }))), 'valid');
  });

  it('when an algorithm is allowed only by option, then other algorithms are refused', async () => {
    const esOnly = verifier({ algorithms: ['ES256'] });
    assert.equal(await codeOf(esOnly.verify(mint(rsa))), 'algorithm_not_allowed');
    assert.equal(await codeOf(esOnly.verify(mint(ec))), 'valid');
    assert.equal(await codeOf(verifier().verify(mint(ec))), 'algorithm_not_allowed');
  });

  it('when the options are unsafe, then the verifier refuses to be built', () => {
    assert.throws(() => verifier({ clockToleranceSec: 61 }));
    assert.throws(() => verifier({ algorithms: [] }));
    assert.throws(() => verifier({ algorithms: ['HS256' as 'RS256'] }));
  });

  it('when a cached token passes its exp plus leeway, then it is refused, never answered from the cache', async () => {
    let nowMs = Date.now();
    const v = verifier({ now: () => nowMs, clockToleranceSec: 5 });
    const token = mint(rsa, { nowSec: Math.floor(nowMs / 1000), ttlSec: 60 });
    await v.verify(token);
    await v.verify(token);
    assert.deepEqual({ hits: v.stats().cacheHits, misses: v.stats().cacheMisses }, { hits: 1, misses: 1 });
    nowMs += 64_000; // inside exp + leeway
    await v.verify(token);
    nowMs += 2_000; // past exp + leeway
    assert.equal(await codeOf(v.verify(token)), 'token_expired');
    assert.equal(v.stats().cacheSize, 0);
  });

  it('when a token was verified and is inside exp plus leeway, then peek returns its claims at once; else undefined', async () => {
    let nowMs = Date.now();
    const v = verifier({ now: () => nowMs, clockToleranceSec: 5 });
    const token = mint(rsa, { nowSec: Math.floor(nowMs / 1000), ttlSec: 60 });
    assert.equal(v.peek?.(token), undefined, 'never verified: not in the cache');
    await v.verify(token);
    assert.equal(v.peek?.(token)?.username, 'alice');
    nowMs += 66_000; // past exp + leeway
    assert.equal(v.peek?.(token), undefined);
    assert.equal(await codeOf(v.verify(token)), 'token_expired');
    assert.equal(v.stats().cacheSize, 0, 'the expired entry is dropped');
    assert.equal(verifier({ cacheSize: 0 }).peek?.(token), undefined, 'no cache, nothing to peek at');
  });

  it('when a token differs from a cached one but ends the same (its signature reused), then the cache never answers for it', async () => {
    const v = verifier();
    const token = mint(rsa, { claims: { roles: ['user'] } });
    await v.verify(token);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, roles: ['user', 'admin'] })).toString('base64url')}.${signature}`;
    assert.equal(forged.slice(-64), token.slice(-64), 'the same end');
    assert.equal(v.peek?.(forged), undefined, 'peek: not the cached token');
    assert.equal(await codeOf(v.verify(forged)), 'signature_invalid');
    assert.deepEqual((await v.verify(token)).roles, ['user'], 'the genuine token is still answered');
    assert.deepEqual(v.peek?.(token)?.roles, ['user']);
  });

  it('when the cache is full, then it stays bounded', async () => {
    const v = verifier({ cacheSize: 5 });
    for (let i = 0; i < 20; i++) await v.verify(mint(rsa));
    assert.equal(v.stats().cacheSize, 5);
  });
});

describe('JWKS handling', () => {
  it('when a JWKS holds keys that do not fit, then they are ignored', () => {
    const imported = importJwks(
      {
        keys: [
          rsa.jwk,
          { ...ec.jwk, kid: 'enc', use: 'enc' },
          { ...ec.jwk, kid: 'wrong-alg', alg: 'RS256' },
          { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
          { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'private' },
          { ...rsa.jwk, kid: undefined },
          'not a key',
          { kty: 'RSA', kid: 'broken', n: 'AA', e: 'AQAB' },
        ],
      },
      ['RS256'],
    );
    assert.deepEqual([...imported.keys()], [rsa.kid]);
  });

  it('when 1,000 tokens carry unknown kids, then at most one refetch happens per cooldown', async () => {
    const server = await jwksServer([rsa.jwk]);
    const source = remoteKeySet({ jwksUri: server.jwksUri, algorithms: ['RS256'], cooldownMs: 30_000 });
    try {
      await source.start();
      const v = verifier({ keys: source });
      const attacker = testKey('RS256');
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => codeOf(v.verify(mint({ ...attacker, kid: `unknown-${i}` })))),
      );
      assert.ok(results.every((code) => code === 'key_unknown'));
      assert.ok(server.total() <= 2, `JWKS fetched ${server.total()} times`);
      assert.equal(await codeOf(v.verify(mint(rsa))), 'valid');
    } finally {
      source.stop();
      await server.close();
    }
  });

  it('when a new kid appears after the cooldown, then one refetch finds it', async () => {
    let nowMs = Date.now();
    const server = await jwksServer([rsa.jwk]);
    const source = remoteKeySet({
      jwksUri: server.jwksUri,
      algorithms: ['RS256'],
      cooldownMs: 1_000,
      now: () => nowMs,
    });
    try {
      await source.start();
      const fresh = testKey('RS256');
      server.setKeys([rsa.jwk, fresh.jwk]);
      const v = verifier({ keys: source, now: () => nowMs });
      assert.equal(await codeOf(v.verify(mint(fresh))), 'key_unknown', 'inside the cooldown: no refetch');
      nowMs += 1_001;
      assert.equal(await codeOf(v.verify(mint(fresh))), 'valid');
    } finally {
      source.stop();
      await server.close();
    }
  });

  it('when the JWKS host goes away, then the last good key set is kept', async () => {
    const server = await jwksServer([rsa.jwk]);
    const source = remoteKeySet({ jwksUri: server.jwksUri, algorithms: ['RS256'], cooldownMs: 1 });
    try {
      assert.equal(await source.start(), true);
      await server.close();
      assert.equal(await source.refresh(), false);
      assert.equal(source.ready(), true);
      assert.equal(await codeOf(verifier({ keys: source }).verify(mint(rsa))), 'valid');
    } finally {
      source.stop();
    }
  });

  it('when no key set was ever loaded, then verification is unavailable, not invalid', async () => {
    const server = await jwksServer([]);
    await server.close();
    const source = remoteKeySet({ jwksUri: server.jwksUri, algorithms: ['RS256'], timeoutMs: 500 });
    try {
      assert.equal(await source.start(), false);
      assert.equal(source.ready(), false);
      await assert.rejects(verifier({ keys: source }).verify(mint(rsa)), KeySetUnavailableError);
    } finally {
      source.stop();
    }
  });

  it('when keys are found through the issuer metadata, then tokens verify', async () => {
    const server = await jwksServer([rsa.jwk]);
    const source = remoteKeySet({ issuer: server.url, algorithms: ['RS256'] });
    try {
      await source.start();
      const v = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: source });
      assert.equal(await codeOf(v.verify(mint(rsa))), 'valid');
      assert.equal(server.hits.get('/.well-known/openid-configuration'), 1);
    } finally {
      source.stop();
      await server.close();
    }
  });
});
