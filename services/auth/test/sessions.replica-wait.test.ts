/**
 * REDIS_WAIT_REPLICAS: a session's creation, rotation and revocation are reported to the client only once a replica
 * holds them, so a failover cannot lose what a client was told. No replica acknowledging in time: 503 (fail closed).
 * Against the shared Redis (no replicas) and against a local primary with a replica behind Sentinel.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { http, suiteScope } from '@authstack/testing';
import { type RedisGroup, startRedisGroup } from '@authstack/testing/redis-group';
import { decodePart } from '@authstack/testing/tokens';
import type { Redis } from 'ioredis';
import {
  migratedDatabase,
  registerAndLogin,
  STRONG_PASSWORD,
  startTestAuth,
  testEnv,
  username,
} from './support.ts';

type Tokens = { access_token: string; refresh_token: string; code?: string };

describe('sessions acknowledged by a replica (REDIS_WAIT_REPLICAS)', () => {
  const scope = suiteScope();
  let group: RedisGroup;
  let base: ReturnType<typeof testEnv>; // one key-encryption key for the database's signing keys
  before(async () => {
    const db = await migratedDatabase(scope);
    // A single Redis and Sentinel groups of this file's own, also under `make test-cluster` (WAIT is not for a Cluster).
    base = { ...testEnv(db), REDIS_CLUSTER_NODES: undefined };
    group = await startRedisGroup({ replicas: 1, sentinels: 1 });
    scope.defer(() => group.stop());
  });

  it('when no replica acknowledges a login in time, then it answers 503 and no tokens (fail closed)', async () => {
    const auth = await startTestAuth({ ...base, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '50' });
    try {
      const name = username('nowait');
      assert.equal(
        (await http(`${auth.url}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } }))
          .status,
        201,
      );
      const login = await http<Tokens>(`${auth.url}/auth/login`, {
        body: { username: name, password: STRONG_PASSWORD },
      });
      assert.equal(login.status, 503);
      assert.equal(login.body.code, 'service_unavailable');
      assert.equal(login.body.refresh_token, undefined);
      assert.equal(login.headers.get('retry-after'), '5');
    } finally {
      await auth.stop();
    }
  });

  it('when a replica acknowledges, then login, refresh and logout answer, and the replica holds each change when they do', async () => {
    const auth = await startTestAuth({
      ...base,
      REDIS_URL: `redis://default:${group.password}@127.0.0.1:1/0`, // Sentinel mode: only the credentials count
      REDIS_SENTINELS: group.sentinels.map((port) => `127.0.0.1:${port}`).join(','),
      REDIS_SENTINEL_MASTER: group.master,
      REDIS_SENTINEL_PASSWORD: group.sentinelPassword,
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '2000',
    });
    const replica: Redis = group.node(group.replicas[0]!);
    try {
      await replica.connect();
      const user = await registerAndLogin(auth.url);
      const { sub, sid } = decodePart(user.access_token, 1) as { sub: string; sid: string };
      const key = `${auth.config.redisKeyPrefix}session:{${sub}}:${sid}`;
      const generation = await replica.hget(key, 'gen');
      assert.ok(generation, 'the replica has the session the login reported');

      const refreshed = await http<Tokens>(`${auth.url}/auth/refresh`, {
        body: { refresh_token: user.refresh_token },
      });
      assert.equal(refreshed.status, 200);
      assert.equal(
        await replica.hget(key, 'gen'),
        String(Number(generation) + 1),
        'the replica has the rotation',
      );

      const logout = await http(`${auth.url}/auth/logout`, {
        method: 'POST',
        token: refreshed.body.access_token,
      });
      assert.equal(logout.status, 200);
      assert.equal(await replica.exists(key), 0, 'the replica has the revocation');
    } finally {
      replica.disconnect();
      await auth.stop();
    }
  });
});
