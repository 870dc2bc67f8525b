/**
 * Test infrastructure shared by every service's tests.
 *
 * - `DATABASE_URL` / `REDIS_URL` when set (CI and native development); otherwise `global-setup.ts`
 *   starts PostgreSQL and Redis with testcontainers once per run and exports the same two variables.
 * - Every test file gets its own database (`createTestDatabase`), built by the real migrations, and every
 *   app instance its own Redis key prefix, so parallel test files never share mutable rows or keys.
 * - `createTcpProxy` sits between a service and PostgreSQL or Redis so a test can cut the connection and
 *   restore it, to show 503s and recovery without touching the shared servers.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { clearRedisPrefix } from './fixture.ts';

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

/** A Redis key prefix of its own, and a way to delete what was written under it (for scripts; tests use fixtures). */
export function redisNamespace(): { prefix: string; clear(): Promise<void> } {
  const prefix = `${uniqueName('test')}:`;
  return {
    prefix,
    async clear() {
      await clearRedisPrefix(infraUrls().redisUrl, prefix);
    },
  };
}

export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  /** Drop every connection and refuse new ones, like a server that went away. */
  cut(): Promise<void>;
  /** Accept connections again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function createTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const onConnection = (client: net.Socket) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
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
    async restore() {
      server = net.createServer(onConnection);
      await listen(port);
    },
    close: stopServer,
  };
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
