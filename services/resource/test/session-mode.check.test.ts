/**
 * Session mode's check, one EXISTS per request, auto-pipelined: concurrent requests share a round trip, yet each
 * gets its own session's answer; a session deleted between two requests is refused on the next one; Redis out of
 * reach is a 503, at once. Keys are single-slot (the user id is the hash tag), so this runs on a cluster too.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { sessionKeyOf } from '@authstack/redis';
import {
  createRedisProxy,
  freePort,
  http,
  redisEnv,
  suiteScope,
  testScope,
  useRedisClient,
  useRedisPrefix,
} from '@authstack/testing';
import {
  AUDIENCE,
  ISSUER,
  type JwksServer,
  jwksServer,
  mint,
  type TestKey,
  testKey,
} from '@authstack/testing/tokens';
import { startTestResource, type TestResource } from './support.ts';

describe('session mode: the per-request session check', () => {
  const scope = suiteScope();
  const redis = useRedisClient(scope);
  const prefix = useRedisPrefix(scope);
  let key: TestKey;
  let jwks: JwksServer;
  let resource: TestResource;

  const env = (extra: Record<string, string | undefined>) => ({
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWKS_URI: jwks.jwksUri,
    VERIFY_MODE: 'session',
    REDIS_KEY_PREFIX: prefix,
    ...extra,
  });

  /** A token and its session key; the session exists when `alive`. */
  async function session(alive: boolean) {
    const sub = randomUUID();
    const sid = randomUUID();
    const redisKey = sessionKeyOf(prefix, sub, sid);
    if (alive) await redis.hset(redisKey, 'fam', 'f');
    return { token: mint(key, { claims: { sub, sid } }), redisKey };
  }
  const get = (url: string, token: string) => http(`${url}/api/protected`, { token });

  before(async () => {
    key = testKey('RS256');
    jwks = await jwksServer([key.jwk], { scope });
    resource = await startTestResource(env(redisEnv()), {}, scope);
  });

  it('when many requests arrive at once (one pipeline), then each is answered for its own session', async () => {
    const sessions = await Promise.all(Array.from({ length: 24 }, (_, n) => session(n % 3 !== 0)));
    // Twice: the first round verifies the tokens, the second answers them from the verified-token cache.
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(sessions.map((s) => get(resource.url, s.token)));
      answers.forEach((res, n) => {
        if (n % 3 === 0) {
          assert.equal(res.status, 401, `session ${n}, round ${round}`);
          assert.equal(res.body.code, 'session_revoked');
        } else assert.equal(res.status, 200, `session ${n}, round ${round}`);
      });
    }
  });

  it('when a session is deleted between two requests, then the very next request is refused, and a cached token changes nothing', async () => {
    const s = await session(true);
    for (let n = 0; n < 3; n++) assert.equal((await get(resource.url, s.token)).status, 200);
    await redis.del(s.redisKey);
    const refused = await get(resource.url, s.token);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'session_revoked');
    assert.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    // Concurrent requests after the deletion: all refused (none answered from a pipeline sent before it).
    const after = await Promise.all(Array.from({ length: 8 }, () => get(resource.url, s.token)));
    assert.deepEqual(
      after.map((res) => res.status),
      Array(8).fill(401),
    );
  });

  it('when requests are verified and checked, then /metrics and /api/stats count each one, across several reads', async () => {
    const live = await session(true);
    const gone = await session(false);
    const expired = mint(key, { nowSec: Math.floor(Date.now() / 1000) - 3_600 });
    const read = async () => {
      const metrics = await (await fetch(`${resource.url}/metrics`)).text();
      const stats = (await http(`${resource.url}/api/stats`)).body as {
        verifications: Record<string, number>;
        session_checks: Record<string, number>;
      };
      const series = (name: string, result: string) =>
        Number(
          new RegExp(`^${name}\\{result="${result}",service="resource"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ??
            0,
        );
      return {
        valid: series('resource_token_verifications_total', 'valid'),
        expired: series('resource_token_verifications_total', 'token_expired'),
        alive: series('resource_session_checks_total', 'alive'),
        revoked: series('resource_session_checks_total', 'revoked'),
        stats,
      };
    };
    const before = await read();
    for (let n = 0; n < 3; n++) await get(resource.url, live.token); // one verification, then two cache hits
    await get(resource.url, gone.token);
    await get(resource.url, expired);
    const first = await read();
    assert.equal(first.valid - before.valid, 4);
    assert.equal(first.expired - before.expired, 1);
    assert.equal(first.alive - before.alive, 3);
    assert.equal(first.revoked - before.revoked, 1);
    for (let n = 0; n < 2; n++) await get(resource.url, live.token);
    const second = await read();
    assert.equal(second.valid - first.valid, 2, 'a second read adds only what came since the first');
    assert.equal(second.alive - first.alive, 2);
    assert.equal(second.revoked, first.revoked);
    assert.equal(second.stats.verifications.valid, second.valid, '/api/stats and /metrics agree');
    assert.equal(second.stats.session_checks.alive, second.alive);
  });

  it('when Redis is cut, then a cached token answers 503 service_unavailable, not 401 and not 200', async (t) => {
    const local = testScope(t);
    const proxy = await createRedisProxy();
    local.defer(() => proxy.close());
    const viaProxy = await startTestResource(env(proxy.env), {}, local);
    const s = await session(true);
    assert.equal((await get(viaProxy.url, s.token)).status, 200);
    await proxy.cut();
    const answers = await Promise.all(Array.from({ length: 4 }, () => get(viaProxy.url, s.token)));
    for (const res of answers) {
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'service_unavailable');
    }
  });

  it('when a Redis Cluster has never been reached, then the check answers 503 at once, not at its next connection attempt', async (t) => {
    const local = testScope(t);
    const port = await freePort();
    const unreachable = await startTestResource(
      env({ REDIS_URL: 'redis://127.0.0.1:6379/0', REDIS_CLUSTER_NODES: `127.0.0.1:${port}` }),
      {},
      local,
    );
    const s = await session(false);
    // After a second the cluster client retries every 800 ms or more; an auto-pipelined command would wait for
    // that attempt (the pipeline needs the slot map), a plain one is refused as soon as it is sent.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const times: number[] = [];
    for (let n = 0; n < 5; n++) {
      const started = performance.now();
      const res = await get(unreachable.url, s.token);
      times.push(performance.now() - started);
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'service_unavailable');
    }
    const median = times.sort((a, b) => a - b)[2] as number;
    assert.ok(median < 300, `median ${Math.round(median)} ms`);
  });
});
