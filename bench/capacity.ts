/**
 * What one login and one refresh cost the stores, measured on the real auth service (in this process, its own
 * database and Redis key prefix, sequential requests, no load):
 *   - Redis commands: every command auth's ioredis client sends, counted by wrapping `sendCommand` (the Redis
 *     server is shared with other processes, so its INFO commandstats would count theirs too);
 *   - Redis bytes: `MEMORY USAGE` summed over the keys under the prefix, before and after;
 *   - PostgreSQL: queries sent (wrapping pg's `Client.query`) and rows inserted / updated / deleted
 *     (`pg_stat_user_tables` of the private database, read after auth has closed its pool, which flushes the
 *     statistics);
 *   - Redis memory of N live sessions (default 10,000), written through auth's own session store (the same Lua
 *     script a login runs), summed the same way, then deleted with the rest of the prefix.
 */
import { randomUUID } from 'node:crypto';
import { hashRefreshToken, newRefreshToken, newTokenFamily } from '@authstack/auth/tokens';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { BenchOptions } from './options.ts';
import { type BenchEnv, benchEnv, login, registerUsers, startAuthInProcess } from './stack.ts';

export interface FlowCost {
  flows: number;
  redisCommandsPerFlow: number;
  redisCommands: Record<string, number>;
  redisBytesPerFlow: number;
  redisKeysPerFlow: number;
  pgQueriesPerFlow: number;
  pgMsPerFlow: number;
  pgRowsPerFlow: { inserted: number; updated: number; deleted: number; byTable: Record<string, number> };
}

export interface CapacityResult {
  login: FlowCost;
  refresh: FlowCost;
  sessions: {
    count: number;
    keys: number;
    bytes: number;
    bytesPerSession: number;
    /** Redis-wide used_memory delta: indicative only, the server is shared. */
    usedMemoryDelta: number;
    userAgentBytes: number;
  };
  pgMaxConnections: number;
  dbPoolMax: number;
}

const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** Counts ioredis commands and pg queries sent from this process while `on`. */
function installCounters() {
  const redisCounts = new Map<string, number>();
  const pgStats = { queries: 0, ms: 0 };
  let on = false;
  const proto = Redis.prototype as unknown as {
    sendCommand(command: { name: string }, ...rest: unknown[]): unknown;
  };
  const originalSend = proto.sendCommand;
  proto.sendCommand = function (command, ...rest) {
    if (on) redisCounts.set(command.name, (redisCounts.get(command.name) ?? 0) + 1);
    return originalSend.call(this, command, ...rest);
  };
  const clientProto = pg.Client.prototype as unknown as { query(...args: unknown[]): unknown };
  const originalQuery = clientProto.query;
  clientProto.query = function (...args) {
    if (!on) return originalQuery.apply(this, args);
    pgStats.queries += 1;
    const started = performance.now();
    const done = () => {
      pgStats.ms += performance.now() - started;
    };
    // pg's pool passes a callback; a direct call gets a promise.
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (...cbArgs: unknown[]) => {
        done();
        return (last as (...a: unknown[]) => unknown)(...cbArgs);
      };
      return originalQuery.apply(this, args);
    }
    const result = originalQuery.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(done, () => {});
    }
    return result;
  };
  return {
    start() {
      redisCounts.clear();
      pgStats.queries = 0;
      pgStats.ms = 0;
      on = true;
    },
    stop() {
      on = false;
      return { redis: Object.fromEntries(redisCounts), pg: { ...pgStats } };
    },
    uninstall() {
      proto.sendCommand = originalSend;
      clientProto.query = originalQuery;
    },
  };
}

async function footprint(
  redis: Redis,
  prefix: string,
  match = '*',
): Promise<{ keys: number; bytes: number }> {
  let keys = 0;
  let bytes = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}${match}`, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    for (const [, value] of (await pipeline.exec()) ?? []) {
      keys += 1;
      bytes += Number(value);
    }
  } while (cursor !== '0');
  return { keys, bytes };
}

/** Rows inserted, updated and deleted per table in the private database, once the counts have settled. */
async function pgRows(url: string): Promise<Record<string, { ins: number; upd: number; del: number }>> {
  const read = async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ relname: string; ins: string; upd: string; del: string }>(
        'SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_del AS del FROM pg_stat_user_tables',
      );
      return Object.fromEntries(
        rows.map((r) => [r.relname, { ins: Number(r.ins), upd: Number(r.upd), del: Number(r.del) }]),
      );
    } finally {
      await client.end();
    }
  };
  let last = JSON.stringify(await read());
  for (let n = 0; n < 20; n++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = JSON.stringify(await read());
    if (now === last) return JSON.parse(now);
    last = now;
  }
  return JSON.parse(last);
}

const round1 = (n: number) => Math.round(n * 10) / 10;

async function measureFlow(
  env: BenchEnv,
  redis: Redis,
  counters: ReturnType<typeof installCounters>,
  flows: number,
  flow: (url: string, n: number) => Promise<void>,
): Promise<FlowCost> {
  const auth = await startAuthInProcess(env, 4);
  let counted: ReturnType<ReturnType<typeof installCounters>['stop']>;
  const pgBefore = await pgRows(env.db.url);
  const before = await footprint(redis, env.prefix);
  try {
    counters.start();
    for (let n = 0; n < flows; n++) await flow(auth.url, n);
    counted = counters.stop();
  } finally {
    counters.stop();
    await auth.stop();
  }
  const after = await footprint(redis, env.prefix);
  const pgAfter = await pgRows(env.db.url);
  const byTable: Record<string, number> = {};
  let inserted = 0;
  let updated = 0;
  let deleted = 0;
  for (const [table, a] of Object.entries(pgAfter)) {
    const b = pgBefore[table] ?? { ins: 0, upd: 0, del: 0 };
    const ins = a.ins - b.ins;
    const upd = a.upd - b.upd;
    const del = a.del - b.del;
    inserted += ins;
    updated += upd;
    deleted += del;
    if (ins + upd + del > 0) byTable[table] = round1((ins + upd + del) / flows);
  }
  const total = Object.values(counted.redis).reduce((sum, n) => sum + n, 0);
  return {
    flows,
    redisCommandsPerFlow: round1(total / flows),
    redisCommands: Object.fromEntries(
      Object.entries(counted.redis).map(([name, count]) => [name, round1(count / flows)]),
    ),
    redisBytesPerFlow: Math.round((after.bytes - before.bytes) / flows),
    redisKeysPerFlow: round1((after.keys - before.keys) / flows),
    pgQueriesPerFlow: round1(counted.pg.queries / flows),
    pgMsPerFlow: Math.round((counted.pg.ms / flows) * 100) / 100,
    pgRowsPerFlow: {
      inserted: round1(inserted / flows),
      updated: round1(updated / flows),
      deleted: round1(deleted / flows),
      byTable,
    },
  };
}

export async function runCapacity(options: BenchOptions): Promise<CapacityResult> {
  const env = await benchEnv();
  const redis = new Redis(process.env.REDIS_URL ?? '');
  const counters = installCounters();
  try {
    const flows = options.smoke ? 10 : 50;
    // Users first (not counted): registration is not the flow being measured.
    const setup = await startAuthInProcess(env, 4);
    let users: { username: string; password: string }[];
    try {
      users = await registerUsers(setup.url, flows);
    } finally {
      await setup.stop();
    }
    const refreshTokens: string[] = [];
    const loginCost = await measureFlow(env, redis, counters, flows, async (url, n) => {
      refreshTokens.push((await login(url, users[n]!)).refresh_token);
    });
    const refreshCost = await measureFlow(env, redis, counters, flows, async (url, n) => {
      const res = await fetch(`${url}/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshTokens[n] }),
      });
      if (res.status !== 200) throw new Error(`bench: refresh answered ${res.status}`);
      await res.arrayBuffer();
    });

    // N live sessions through auth's own store: one per user, as a login writes them.
    const auth = await startAuthInProcess(env, 4);
    const count = options.sessions;
    let sessions: CapacityResult['sessions'];
    try {
      const info = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
      const before = await footprint(redis, env.prefix, 'session*');
      const indexBefore = await footprint(redis, env.prefix, 'user-sessions*');
      const usedBefore = await info();
      for (let i = 0; i < count; i += 500) {
        await Promise.all(
          Array.from({ length: Math.min(500, count - i) }, () => {
            const userId = randomUUID();
            const sid = randomUUID();
            const family = newTokenFamily();
            const token = newRefreshToken({ userId, sessionId: sid, generation: 1, family });
            return auth.service.sessions.create(
              { sid, userId, createdAt: Date.now(), ip: '203.0.113.7', userAgent: BROWSER_UA },
              { generation: 1, tokenHash: hashRefreshToken(token), familyHash: hashRefreshToken(family) },
            );
          }),
        );
      }
      const usedAfter = await info();
      const sessionKeys = await footprint(redis, env.prefix, 'session*');
      const indexKeys = await footprint(redis, env.prefix, 'user-sessions*');
      const keys = sessionKeys.keys - before.keys + indexKeys.keys - indexBefore.keys;
      const bytes = sessionKeys.bytes - before.bytes + indexKeys.bytes - indexBefore.bytes;
      sessions = {
        count,
        keys,
        bytes,
        bytesPerSession: Math.round(bytes / count),
        usedMemoryDelta: usedAfter - usedBefore,
        userAgentBytes: BROWSER_UA.length,
      };
    } finally {
      await auth.stop();
    }
    const admin = new pg.Client({ connectionString: env.db.url });
    await admin.connect();
    const maxConnections = Number((await admin.query('SHOW max_connections')).rows[0].max_connections);
    await admin.end();
    console.log(
      `bench: capacity: login ${loginCost.redisCommandsPerFlow} Redis commands, ${loginCost.redisBytesPerFlow} B, ${loginCost.pgQueriesPerFlow} queries, ${loginCost.pgRowsPerFlow.inserted}+${loginCost.pgRowsPerFlow.updated} rows; refresh ${refreshCost.redisCommandsPerFlow} commands, ${refreshCost.redisBytesPerFlow} B; ${count} sessions ${sessions.bytes} B`,
    );
    return {
      login: loginCost,
      refresh: refreshCost,
      sessions,
      pgMaxConnections: maxConnections,
      dbPoolMax: Number(env.authEnv(4).DB_POOL_MAX ?? 10),
    };
  } finally {
    counters.uninstall();
    redis.disconnect();
    await env.clear();
  }
}
