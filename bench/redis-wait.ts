/**
 * What waiting for a replica costs (REDIS_WAIT_REPLICAS, docs/security-model.md): two auth instances on one Redis
 * primary with a replica behind a Sentinel (local redis-server processes, packages/testing/src/redis-group.ts), one
 * with REDIS_WAIT_REPLICAS=0 and one with 1, and the same requests sent to each in turn (so the machine's noise falls
 * on both alike): logins, refreshes. Prints the median and p95 latency of each, and the difference; then the same
 * for the Redis commands alone, from one client on the primary: a write (SET) against a write followed by WAIT 1.
 *
 *   node --import tsx bench/redis-wait.ts [--requests 300] [--bcrypt-cost 4]
 *
 * Needs DATABASE_URL (a database of its own is created and dropped) and redis-server on PATH.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '@authstack/auth/config';
import { migrate } from '@authstack/auth/migrate';
import { startAuth } from '@authstack/auth/server';
import { createTestDatabase, http } from '@authstack/testing';
import { startRedisGroup } from '@authstack/testing/redis-group';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '300' }, 'bcrypt-cost': { type: 'string', default: '4' } },
});
const requests = Number(values.requests);
const key = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
};

const db = await createTestDatabase();
const group = await startRedisGroup({ replicas: 1, sentinels: 1 });
try {
  await migrate(db.url);
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: `redis://default:${group.password}@127.0.0.1:1/0`,
    REDIS_SENTINELS: `127.0.0.1:${group.sentinels[0]}`,
    REDIS_SENTINEL_MASTER: group.master,
    REDIS_SENTINEL_PASSWORD: group.sentinelPassword,
    KEY_ENCRYPTION_KEY: key(),
    PASSWORD_PEPPER: key(),
    PORT: '0',
    LOG_LEVEL: 'silent',
    BCRYPT_COST: values['bcrypt-cost'],
    REGISTER_MAX_PER_IP_PER_HOUR: '100000',
    LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: '1000000',
    LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR: '1000000',
    SESSIONS_MAX_PER_USER: '1000',
  };
  const variants = [
    {
      name: 'REDIS_WAIT_REPLICAS=0',
      auth: await startAuth(loadConfig({ ...env, REDIS_WAIT_REPLICAS: '0' })),
    },
    {
      name: 'REDIS_WAIT_REPLICAS=1',
      auth: await startAuth(loadConfig({ ...env, REDIS_WAIT_REPLICAS: '1' })),
    },
  ];
  try {
    const username = `waitbench${process.pid}`;
    const password = 'correct horse battery staple bench';
    const registered = await http(`${variants[0]!.auth.url}/auth/register`, { body: { username, password } });
    if (registered.status !== 201) throw new Error(`register: ${registered.status}`);
    const samples = variants.map(() => ({ login: [] as number[], refresh: [] as number[] }));
    const refreshTokens: string[] = [];
    const timed = async (work: () => Promise<{ status: number }>) => {
      const started = performance.now();
      const { status } = await work();
      if (status !== 200) throw new Error(`status ${status}`);
      return performance.now() - started;
    };
    for (let i = 0; i < requests; i++) {
      for (const [v, variant] of variants.entries()) {
        let body: { refresh_token?: string } = {};
        samples[v]!.login.push(
          await timed(async () => {
            const reply = await http<{ refresh_token: string }>(`${variant.auth.url}/auth/login`, {
              body: { username, password },
            });
            body = reply.body;
            return reply;
          }),
        );
        refreshTokens[v] = body.refresh_token!;
        samples[v]!.refresh.push(
          await timed(async () => {
            const reply = await http<{ refresh_token: string }>(`${variant.auth.url}/auth/refresh`, {
              body: { refresh_token: refreshTokens[v] },
            });
            refreshTokens[v] = reply.body.refresh_token;
            return reply;
          }),
        );
      }
    }
    const ms = (n: number) => `${n.toFixed(2)} ms`;
    console.log(
      `redis-wait: ${requests} logins and ${requests} refreshes per variant, bcrypt cost ${values['bcrypt-cost']}`,
    );
    const rows = variants.map((variant, v) => ({
      variant,
      login: summary(samples[v]!.login),
      refresh: summary(samples[v]!.refresh),
    }));
    for (const row of rows)
      console.log(
        `${row.variant.name}: login median ${ms(row.login.median)} p95 ${ms(row.login.p95)}; refresh median ${ms(row.refresh.median)} p95 ${ms(row.refresh.p95)}`,
      );
    console.log(
      `difference (1 - 0): login median ${ms(rows[1]!.login.median - rows[0]!.login.median)}, refresh median ${ms(rows[1]!.refresh.median - rows[0]!.refresh.median)}`,
    );
  } finally {
    for (const variant of variants) await variant.auth.stop();
  }
  const primary = group.node(group.primary);
  try {
    await primary.connect();
    const plain: number[] = [];
    const waited: number[] = [];
    for (let i = 0; i < requests * 5; i++) {
      let started = performance.now();
      await primary.set('redis-wait-bench', String(i));
      plain.push(performance.now() - started);
      started = performance.now();
      await primary.set('redis-wait-bench', String(i));
      if ((await primary.wait(1, 500)) < 1) throw new Error('no replica acknowledged');
      waited.push(performance.now() - started);
    }
    const [a, b] = [summary(plain), summary(waited)];
    console.log(
      `redis alone (${plain.length} each): SET median ${a.median.toFixed(3)} ms p95 ${a.p95.toFixed(3)} ms; SET + WAIT 1 median ${b.median.toFixed(3)} ms p95 ${b.p95.toFixed(3)} ms`,
    );
  } finally {
    primary.disconnect();
  }
} finally {
  await group.stop();
  await db.drop();
}
