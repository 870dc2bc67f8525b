/**
 * The test Redis (a single one, or a Redis Cluster under `make test-cluster`): clients for tests, key prefixes and
 * the one place that deletes test keys, and a cuttable Redis (`createRedisProxy`) for outage tests.
 */
import { once } from 'node:events';
import { createRedis, parseClusterNodes, primaries, type RedisClient } from '@authstack/redis';
import { Cluster, Redis } from 'ioredis';
import { infraUrls, uniqueName } from './infra.ts';
import { createTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/**
 * The Redis settings of a service under test: `REDIS_URL`, and `REDIS_CLUSTER_NODES` when the suite runs against
 * a Redis Cluster (`make test-cluster`).
 */
export function redisEnv(): { REDIS_URL: string; REDIS_CLUSTER_NODES: string | undefined } {
  return {
    REDIS_URL: infraUrls().redisUrl,
    REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES || undefined,
  };
}

/** A connected client of the test Redis (a cluster client under `make test-cluster`); `disconnect()` when done. */
export async function connectTestRedis(): Promise<RedisClient> {
  const { REDIS_URL, REDIS_CLUSTER_NODES } = redisEnv();
  const clusterNodes = REDIS_CLUSTER_NODES ? parseClusterNodes(REDIS_CLUSTER_NODES) : undefined;
  const redis = createRedis({ url: REDIS_URL, clusterNodes });
  await redis.connect();
  return redis;
}

/**
 * A client of the test Redis for a test's own reads and writes (a cluster client under `make test-cluster`): it
 * connects by itself and queues commands until it is ready, so a describe can make it in its body. The fixture
 * `useRedisClient` disconnects it when its scope ends.
 */
export function testRedisClient(): RedisClient {
  const { REDIS_URL, REDIS_CLUSTER_NODES } = redisEnv();
  if (!REDIS_CLUSTER_NODES) return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const url = new URL(REDIS_URL);
  return new Cluster(parseClusterNodes(REDIS_CLUSTER_NODES), {
    redisOptions: {
      maxRetriesPerRequest: 1,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    },
  });
}

/** Each batch of keys matching `pattern`, with the node it came from: every primary's (a cluster's SCAN sees one node). */
async function* scanPrimaries(
  redis: RedisClient,
  pattern: string,
  count: number,
): AsyncGenerator<{ node: Redis; keys: string[] }> {
  // A cluster knows its primaries once it is ready (a client made by `testRedisClient` may still be connecting).
  if (redis.status === 'wait') await redis.connect();
  else if (redis.status !== 'ready') await once(redis, 'ready');
  for (const node of primaries(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      if (keys.length > 0) yield { node, keys };
      cursor = next;
    } while (cursor !== '0');
  }
}

/** Every key matching `pattern`, on every primary: a Redis Cluster's SCAN sees one node's keys only. */
export async function scanRedisKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for await (const { keys } of scanPrimaries(redis, pattern, 500)) found.push(...keys);
  return found;
}

const globSpecial = /[*?[\]\\]/g;

/**
 * Delete every key that starts with `prefix` from the test Redis, on every primary of a cluster (`make
 * test-cluster`): SCAN MATCH prefix* on each primary and UNLINK each key of a batch on the node it came from, one
 * key per command in one pipeline (a cluster refuses a multi-key command across slots; UNLINK frees the memory off
 * the main thread). Returns how many keys went. The one place that knows how test keys are cleared: the fixtures
 * and `redisNamespace` use it.
 */
export async function clearRedisPrefix(prefix: string, batch = 500): Promise<number> {
  if (prefix === '') throw new Error('clearRedisPrefix: an empty prefix would clear the whole database');
  const redis = await connectTestRedis();
  let removed = 0;
  try {
    for await (const { node, keys } of scanPrimaries(
      redis,
      `${prefix.replace(globSpecial, '\\$&')}*`,
      batch,
    )) {
      const replies = (await node.pipeline(keys.map((key) => ['unlink', key])).exec()) ?? [];
      for (const [error, count] of replies) {
        if (error) throw error;
        removed += Number(count);
      }
    }
  } finally {
    redis.disconnect();
  }
  return removed;
}

/** A Redis key prefix of its own, and a way to delete what was written under it (for scripts; tests use fixtures). */
export function redisNamespace(): { prefix: string; clear(): Promise<void> } {
  const prefix = `${uniqueName('test')}:`;
  return {
    prefix,
    async clear() {
      await clearRedisPrefix(prefix);
    },
  };
}

/**
 * A cuttable Redis for one service under test: `createTcpProxy` in front of the test Redis, or in front of every
 * node of the cluster under `make test-cluster` (the service then reaches each node through its proxy:
 * `REDIS_CLUSTER_NAT_MAP`). `env` is what the service is started with.
 */
export async function createRedisProxy(): Promise<{
  env: Record<string, string | undefined>;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}> {
  const { REDIS_URL, REDIS_CLUSTER_NODES } = redisEnv();
  // The single Redis, or every node the cluster announces (make test-cluster seeds with all of them).
  const nodes = REDIS_CLUSTER_NODES
    ? parseClusterNodes(REDIS_CLUSTER_NODES)
    : [{ host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) }];
  const proxies = await Promise.all(nodes.map((node) => createTcpProxy(node)));
  const through = (i: number) => `127.0.0.1:${proxies[i]!.port}`;
  const env = REDIS_CLUSTER_NODES
    ? {
        REDIS_URL,
        REDIS_CLUSTER_NODES: proxies.map((_, i) => through(i)).join(','),
        REDIS_CLUSTER_NAT_MAP: nodes.map((node, i) => `${node.host}:${node.port}=${through(i)}`).join(','),
      }
    : { REDIS_URL: proxies[0]!.rewrite(REDIS_URL), REDIS_CLUSTER_NODES: undefined };
  const all = (action: (proxy: TcpProxy) => Promise<void>) => Promise.all(proxies.map(action)).then(() => {});
  return {
    env,
    cut: () => all((proxy) => proxy.cut()),
    restore: () => all((proxy) => proxy.restore()),
    close: () => all((proxy) => proxy.close()),
  };
}
