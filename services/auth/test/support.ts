/** Starts the real auth service on port 0 against a database of this test file's own. */
import { randomBytes } from 'node:crypto';
import { createTestDatabase, http, redisEnv, redisNamespace, type TestDatabase } from '@authstack/testing';
import { type AuthConfig, loadConfig } from '../src/config.ts';
import { migrate } from '../src/migrate.ts';
import { type RunningAuth, startAuth } from '../src/server.ts';
import type { ServiceOptions } from '../src/service.ts';

export const newKek = () => randomBytes(32).toString('base64');

/** The environment a test auth instance reads (through the real config parser). */
export function testEnv(db: TestDatabase, overrides: Record<string, string | undefined> = {}) {
  return {
    DATABASE_URL: db.url,
    ...redisEnv(),
    REDIS_KEY_PREFIX: redisNamespace().prefix,
    KEY_ENCRYPTION_KEY: newKek(),
    PASSWORD_PEPPER: newKek(),
    PORT: '0',
    HOST: '127.0.0.1',
    BCRYPT_COST: '4',
    LOG_LEVEL: 'silent',
    KEY_RELOAD_INTERVAL: '1',
    // Many users register and log in from 127.0.0.1 in one file, some many times (the key-rotation loop);
    // the limit tests set their own values.
    REGISTER_MAX_PER_IP_PER_HOUR: '100000',
    LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '100000',
    LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR: '100000',
    LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: '100000',
    // Admission control would shed the parallel logins some tests make from 127.0.0.1 on purpose (the limiter's
    // atomicity, the session cap); login.overload.test.ts sets its own values.
    BCRYPT_QUEUE_BUDGET_MS: '60000',
    BCRYPT_MAX_PER_CLIENT: '10000',
    BCRYPT_MAX_PER_ACCOUNT: '10000',
    ...overrides,
  };
}

export interface TestAuth extends RunningAuth {
  config: Readonly<AuthConfig>;
  env: Record<string, string | undefined>;
}

export async function migratedDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  await migrate(db.url);
  return db;
}

export async function startTestAuth(
  env: Record<string, string | undefined>,
  options: ServiceOptions = {},
): Promise<TestAuth> {
  const config = loadConfig(env);
  const running = await startAuth(config, options);
  return { ...running, config, env };
}

let counter = 0;
/** A unique valid username per call (tests make their own data). */
export const username = (stem = 'user') =>
  `${stem}${process.pid % 10000}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;

export const STRONG_PASSWORD = 'correct horse battery staple';

export async function registerAndLogin(baseUrl: string, name = username(), password = STRONG_PASSWORD) {
  const registered = await http(`${baseUrl}/auth/register`, { body: { username: name, password } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status}`);
  const login = await http<{ access_token: string; refresh_token: string; user: { id: string } }>(
    `${baseUrl}/auth/login`,
    { body: { username: name, password } },
  );
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
  return { username: name, password, ...login.body };
}
