/**
 * `@authstack/redis` in Sentinel mode, against real processes (a primary, two replicas and three Sentinels, with
 * passwords): the client finds the primary through the Sentinels, reconnects to the promoted replica by itself
 * when the primary is killed, and `replicaWait` reports a write only once replicas hold it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpProblem } from '@authstack/http-problem';
import { eventually } from '@authstack/testing';
import { type RedisGroup, startRedisGroup } from '@authstack/testing/redis-group';
import { createRedis, type RedisClient, ReplicaAckError, replicaWait } from '../src/index.ts';

describe('Redis through Sentinel', () => {
  let group: RedisGroup;
  let redis: RedisClient;
  before(async () => {
    group = await startRedisGroup({ replicas: 2, sentinels: 3 });
    redis = createRedis({
      // host and port are not used in Sentinel mode: only the credentials and the database
      url: `redis://default:${group.password}@unused.invalid:1/0`,
      sentinel: {
        sentinels: group.sentinels.map((port) => ({ host: '127.0.0.1', port })),
        master: group.master,
        password: group.sentinelPassword,
      },
    });
    await redis.connect();
  });
  after(async () => {
    redis?.disconnect();
    await group?.stop();
  });

  const servingPort = async () => Number(/tcp_port:(\d+)/.exec(await redis.info('server'))?.[1]);

  it('when Sentinels name the primary, then the client connects to it with the URL’s credentials', async () => {
    assert.equal(await servingPort(), group.primary);
    assert.equal(await redis.set('sentinel-test', 'before'), 'OK');
  });

  it('when a replica acknowledges, then replicaWait returns the write’s result; when too few do, 503', async () => {
    const oneReplica = replicaWait(redis, { replicas: 1, timeoutMs: 2_000 });
    assert.equal(await oneReplica(() => redis.set('sentinel-wait', '1')), 'OK');
    const threeReplicas = replicaWait(redis, { replicas: 3, timeoutMs: 50 });
    await assert.rejects(
      threeReplicas(() => redis.set('sentinel-wait', '2')),
      (error: unknown) =>
        error instanceof HttpProblem &&
        error.status === 503 &&
        error.code === 'service_unavailable' &&
        error.cause instanceof ReplicaAckError,
    );
  });

  it('when the primary is killed, then Sentinel promotes a replica and the client reconnects to it by itself, with the acknowledged write', async () => {
    const acknowledged = replicaWait(redis, { replicas: 1, timeoutMs: 2_000 });
    await acknowledged(() => redis.set('sentinel-test', 'acknowledged'));
    group.kill(group.primary);
    await eventually(
      async () => group.replicas.includes(await servingPort()) && (await redis.set('after', '1')) === 'OK',
      30_000,
      200,
    );
    assert.equal(await redis.get('sentinel-test'), 'acknowledged');
    // the new primary still has a replica, so the writes that wait for one go on
    assert.equal(await acknowledged(() => redis.set('sentinel-test', 'after')), 'OK');
  });
});
