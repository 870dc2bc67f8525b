/**
 * Test infrastructure shared by every service's tests.
 *
 * - `DATABASE_URL` / `REDIS_URL` when set (CI and native development); otherwise `global-setup.ts`
 *   starts PostgreSQL and Redis with testcontainers once per run and exports the same two variables.
 * - Every test file gets its own database (`createTestDatabase`), built by the real migrations, and every
 *   app instance its own Redis key prefix, so parallel test files never share mutable rows or keys.
 * - `createTcpProxy` sits between a service and PostgreSQL or Redis so a test can cut the connection (or freeze it,
 *   a server gone silent) and restore it, to show 503s and recovery without touching the shared servers.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { createRedis, parseClusterNodes, primaries, type RedisClient } from '@authstack/redis';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';

export * from './fixture.ts';

export function infraUrls(): { databaseUrl: string; redisUrl: string } {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    throw new Error(
      'DATABASE_URL and REDIS_URL must be set (the test global setup sets them from testcontainers when Docker is available)',
    );
  }
  return { databaseUrl, redisUrl };
}

export const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the test server; `drop()` removes it (closing its connections). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = new URL(infraUrls().databaseUrl);
  const name = uniqueName('authstack_test');
  const admin = new pg.Client({ connectionString: serverUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl.toString() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

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

export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  /** Drop every connection and refuse new ones, like a server that went away. */
  cut(): Promise<void>;
  /**
   * Stop passing bytes either way while keeping every connection open, and accept new ones that never get an answer:
   * a server that vanished without closing anything (a node lost, packets dropped).
   */
  freeze(): void;
  /** Accept connections again on the same port (after `freeze`: drop the frozen connections, then pass bytes again). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function createTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const onConnection = (client: net.Socket) => {
    if (frozen) {
      track(client);
      client.on('error', () => client.destroy());
      client.pause();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      track(socket);
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  };
  let server = net.createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  const port = await listen(0);
  const stopServer = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  return {
    port,
    rewrite(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    cut: stopServer,
    freeze() {
      frozen = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    async restore() {
      if (frozen) {
        frozen = false;
        for (const socket of sockets) socket.destroy();
        return;
      }
      if (server.listening) return;
      server = net.createServer(onConnection);
      await listen(port);
    },
    close: stopServer,
  };
}

/** A free TCP port on 127.0.0.1 (for a server a test starts). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Poll `check` until it holds: it returns anything but `false` without throwing (an assertion that passes, or a
 * condition that is true). Fails after `timeout` ms with the last assertion's error as the cause. For waiting on
 * something that happens on its own time (a process starting, a key expiring in Redis, a background refresh): the
 * wait is as long as it takes, never a guessed sleep. `timeout` and `interval` may also be given as numbers.
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  options: { timeout?: number; interval?: number } | number = {},
  interval = 100,
): Promise<Exclude<T, false>> {
  const { timeout = 10_000, interval: step = interval } =
    typeof options === 'number' ? { timeout: options, interval } : options;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== false) return result as Exclude<T, false>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, step));
  }
  throw new Error(`condition not met within ${timeout} ms`, { cause: lastError });
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** Plain HTTP with JSON in and out; `body` may be a string to send it raw. */
export async function http<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; token?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}
