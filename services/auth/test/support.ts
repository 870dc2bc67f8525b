/**
 * The auth fixture: the real auth service on port 0 against a migrated database of its own, torn down (stopped,
 * database dropped, Redis keys cleared) by the scope that started it. Shared with `e2e/`, `infra/test` and the
 * load-test stand-in, which start auth the same way.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '@authstack/telemetry';
import {
  http,
  keyPrefix,
  logLines,
  redisEnv,
  type Scope,
  type TestDatabase,
  useDatabase,
  useFixture,
} from '@authstack/testing';
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
    REDIS_KEY_PREFIX: keyPrefix(db),
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

/** A migrated database of its own, dropped (with the Redis keys of every instance on it) when `scope` ends. */
export const migratedDatabase = (scope: Scope): Promise<TestDatabase> => useDatabase(scope, migrate);

/** `migratedDatabase` for the enclosing describe. */
export const useMigratedDatabase = (): TestDatabase => useFixture(migratedDatabase);

/**
 * An instance on an environment a test already has (its database and prefix): stopped when `scope` ends, or by
 * the caller when there is none (the start-up and restart tests).
 */
export async function startTestAuth(
  env: Record<string, string | undefined>,
  options: ServiceOptions = {},
  scope?: Scope,
): Promise<TestAuth> {
  const config = loadConfig(env);
  const running = await startAuth(config, options);
  scope?.defer(() => running.stop());
  return { ...running, config, env };
}

export interface AuthFixture extends TestAuth {
  db: TestDatabase;
}

export interface AuthFixtureOptions {
  /** Overrides on `testEnv`'s environment. */
  env?: Record<string, string | undefined>;
  options?: ServiceOptions;
  /** Log at level info into this array (one JSON line per entry). */
  logTo?: string[];
}

/** A migrated database and an auth instance on it; `scope` stops it, drops the database and clears its keys. */
export async function startAuthFixture(
  scope: Scope,
  { env = {}, options = {}, logTo }: AuthFixtureOptions = {},
): Promise<AuthFixture> {
  const db = await migratedDatabase(scope);
  const logger =
    logTo && createLogger({ service: 'auth', level: 'info', destination: logLines(logTo).destination });
  const auth = await startTestAuth(
    testEnv(db, { ...(logTo ? { LOG_LEVEL: 'info' } : {}), ...env }),
    logger ? { ...options, logger } : options,
    scope,
  );
  return { ...auth, db };
}

/** `startAuthFixture` for the enclosing describe (started in its `before`, torn down in its `after`). */
export const useAuth = (options: AuthFixtureOptions | (() => AuthFixtureOptions) = {}): AuthFixture =>
  useFixture((scope) => startAuthFixture(scope, typeof options === 'function' ? options() : options));

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
