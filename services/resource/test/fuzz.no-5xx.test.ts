/**
 * Property-based test: generated headers (above all the bearer token: real signatures over generated claims),
 * query strings and path parameters thrown at every endpoint of the resource service, stateless and
 * session-checked. No response is a 5xx, and every 4xx is `application/problem+json` with a `code`. Fixed
 * seed per endpoint, `FUZZ_RUNS` runs each (default 100).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { sessionKeyOf } from '@authstack/redis';
import { redisEnv, suiteScope, useRedisClient, useRedisPrefix } from '@authstack/testing';
import { type Endpoint, type FuzzTarget, fuzzEndpoint, reachedHandler } from '@authstack/testing/fuzz';
import {
  AUDIENCE,
  forge,
  ISSUER,
  type JwksServer,
  jwksServer,
  mint,
  signRaw,
  type TestKey,
  testKey,
} from '@authstack/testing/tokens';
import fc from 'fast-check';
import { startTestResource, type TestResource } from './support.ts';

const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/api/public' },
  { method: 'GET', path: '/api/protected' },
  { method: 'GET', path: '/api/admin' },
  { method: 'GET', path: '/api/whoami' },
  { method: 'POST', path: '/api/protected', bodyFields: ['a'] },
  { method: 'GET', path: '/api/:anything' },
  { method: 'DELETE', path: '/:anything/:else' },
];

/** Claims around a valid token's: each may be replaced by any JSON value or left out. */
function claims(sub: string, sids: string[]): fc.Arbitrary<Record<string, unknown>> {
  const any = fc.jsonValue({ maxDepth: 2 });
  const now = Math.floor(Date.now() / 1000);
  return fc.record(
    {
      iss: fc.oneof(fc.constant(ISSUER), any),
      aud: fc.oneof(fc.constant(AUDIENCE), fc.constant([AUDIENCE, 'other']), any),
      sub: fc.oneof(fc.constant(sub), fc.uuid().map(String), any),
      username: fc.oneof(fc.stringMatching(/^[a-z]{3,12}$/), any),
      roles: fc.oneof(fc.subarray(['user', 'admin']), fc.constant('admin'), any),
      sid: fc.oneof(fc.constantFrom(...sids), fc.uuid().map(String), any),
      jti: fc.oneof(fc.uuid().map(String), any),
      iat: fc.oneof(fc.constant(now), fc.integer(), any),
      exp: fc.oneof(fc.constant(now + 300), fc.integer(), fc.double(), any),
      nbf: fc.oneof(fc.integer({ min: now - 100, max: now + 100 }), any),
    },
    { requiredKeys: [] },
  );
}

function validClaims(sub: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub,
    client_id: 'test',
    username: 'alice',
    roles: ['user'],
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
  };
}

describe('resource: generated requests never get a 5xx or a non-problem error', () => {
  let key: TestKey;
  let jwks: JwksServer;
  let stateless: TestResource;
  let sessionMode: TestResource;
  const scope = suiteScope();
  const prefix = useRedisPrefix(scope);
  const redis = useRedisClient(scope);
  const sub = randomUUID(); // the owner of the live sessions below
  const sids = [randomUUID(), randomUUID()];

  before(async () => {
    key = testKey('ES256');
    jwks = await jwksServer([key.jwk], { scope });
    const env = {
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWKS_URI: jwks.jwksUri,
      JWT_ALGORITHMS: 'ES256',
    };
    stateless = await startTestResource(env, {}, scope);
    sessionMode = await startTestResource(
      { ...env, VERIFY_MODE: 'session', ...redisEnv(), REDIS_KEY_PREFIX: prefix },
      {},
      scope,
    );
    for (const sid of sids) await redis.set(sessionKeyOf(prefix, sub, sid), '1', 'EX', 600);
  });

  const target = (baseUrl: string): FuzzTarget => ({
    baseUrl,
    authorizations: fc.oneof(
      {
        weight: 2,
        arbitrary: fc.constantFrom(...sids).map((sid) => `Bearer ${mint(key, { claims: { sub, sid } })}`),
      },
      {
        // a valid token's claims with some replaced or left out, really signed
        weight: 3,
        arbitrary: claims(sub, sids).map(
          (overrides) =>
            `Bearer ${signRaw(key, { alg: 'ES256', typ: 'at+jwt', kid: key.kid }, { ...validClaims(sub), ...overrides })}`,
        ),
      },
      {
        weight: 2,
        arbitrary: claims(sub, sids).map(
          (payload) => `Bearer ${signRaw(key, { alg: 'ES256', typ: 'at+jwt', kid: key.kid }, payload)}`,
        ),
      },
      {
        weight: 1,
        arbitrary: fc
          .record({
            header: fc.dictionary(
              fc.constantFrom('alg', 'typ', 'kid', 'jku', 'jwk', 'crit'),
              fc.jsonValue({ maxDepth: 2 }),
            ),
            payload: claims(sub, sids),
          })
          .map(({ header, payload }) => `Bearer ${forge(header, payload, 'c2ln')}`),
      },
    ),
  });

  for (const mode of ['stateless', 'session'] as const) {
    for (const endpoint of ENDPOINTS) {
      it(`when ${endpoint.method} ${endpoint.path} (${mode}) gets generated requests, then no 5xx and every error is problem+json with a code`, async () => {
        const statuses = await fuzzEndpoint(
          endpoint,
          target((mode === 'session' ? sessionMode : stateless).url),
        );
        assert.ok(reachedHandler(statuses), `only 401/403 seen: ${JSON.stringify([...statuses])}`);
      });
    }
  }
});
