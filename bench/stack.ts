/**
 * An auth service in the bench's own process with a database and a Redis key prefix of its own, for the
 * sections that need its tokens, its signing key or its session store (not for load: the services under load
 * run as processes of their own, see `procs.ts`).
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@authstack/auth/config';
import { migrate } from '@authstack/auth/migrate';
import { type RunningAuth, startAuth } from '@authstack/auth/server';
import { createTestDatabase, infraUrls, redisNamespace, type TestDatabase } from '@authstack/testing';

export interface BenchEnv {
  db: TestDatabase;
  prefix: string;
  /** The environment of an auth service on this database and prefix (secrets generated for this run). */
  authEnv(cost: number): Record<string, string>;
  clear(): Promise<void>;
}

/** Limits high enough that the bench's own traffic is never refused. */
const LIMITS = {
  REGISTER_MAX_PER_IP_PER_HOUR: '1000000',
  LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '1000000',
  LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: '1000000',
  LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR: '1000000',
  // Admission control off in effect (a 60 s budget, shares nobody reaches): the bench is one client address and
  // measures throughput against the ceiling; shedding has rows of its own (bench/overload.ts).
  BCRYPT_QUEUE_BUDGET_MS: '60000',
  BCRYPT_MAX_PER_CLIENT: '10000',
  BCRYPT_MAX_PER_ACCOUNT: '10000',
};

export async function benchEnv(): Promise<BenchEnv> {
  const { redisUrl } = infraUrls();
  const db = await createTestDatabase();
  await migrate(db.url);
  const redis = redisNamespace();
  const kek = randomBytes(32).toString('base64');
  const pepper = randomBytes(32).toString('base64');
  return {
    db,
    prefix: redis.prefix,
    authEnv: (cost) => ({
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: redis.prefix,
      KEY_ENCRYPTION_KEY: kek,
      PASSWORD_PEPPER: pepper,
      BCRYPT_COST: String(cost),
      ACCESS_TOKEN_TTL: '3600',
      LOG_LEVEL: 'silent',
      ...LIMITS,
    }),
    async clear() {
      await redis.clear().catch(() => {});
      await db.drop();
    },
  };
}

export async function startAuthInProcess(env: BenchEnv, cost: number): Promise<RunningAuth> {
  return startAuth(loadConfig({ ...env.authEnv(cost), HOST: '127.0.0.1', PORT: '0' }));
}

/** Registers `count` users (a few at a time) and returns their credentials as login bodies. */
export async function registerUsers(
  baseUrl: string,
  count: number,
  init: RequestInit = {},
): Promise<{ username: string; password: string }[]> {
  const users = Array.from({ length: count }, (_, n) => ({
    username: `bench${n}${randomBytes(4).toString('hex')}`,
    password: `benchmark passphrase ${randomBytes(4).toString('hex')}`,
  }));
  for (let i = 0; i < users.length; i += 8) {
    await Promise.all(
      users.slice(i, i + 8).map(async (user) => {
        const res = await fetch(`${baseUrl}/auth/register`, {
          ...init,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(user),
        });
        if (res.status !== 201) throw new Error(`bench: register answered ${res.status}`);
      }),
    );
  }
  return users;
}

export async function login(
  baseUrl: string,
  user: { username: string; password: string },
): Promise<{ access_token: string; refresh_token: string }> {
  const res = await fetch(`${baseUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  if (res.status !== 200) throw new Error(`bench: login answered ${res.status}`);
  return (await res.json()) as { access_token: string; refresh_token: string };
}
