/**
 * Wires the auth service together: pool, Redis, stores, keyring, verifier, metrics and the app.
 * `createAuthService()` connects and prepares (signing key, bootstrap admin) but does not listen.
 */

import os from 'node:os';
import { type BuildInfo, buildInfo } from '@authstack/lifecycle';
import { createRedis, replicaWait } from '@authstack/redis';
import { createLogger, createMetrics, type Logger, withSpan } from '@authstack/telemetry';
import { createVerifier, localKeySet } from '@authstack/verifier';
import bcrypt from 'bcrypt';
import type { Express } from 'express';
import { Counter, Gauge, Histogram } from 'prom-client';
import { buildApp } from './app.ts';
import type { AuthConfig } from './config.ts';
import { type AccountDeps, bootstrapAdmin } from './domain/accounts.ts';
import { createAdmission, planAdmission } from './domain/admission.ts';
import { type Bcrypt, createPasswordHasher } from './domain/passwords.ts';
import { KeyDecryptionError, KeyIntegrityError } from './keys/crypto.ts';
import { type Keyring, keyringFromConfig } from './keys/keyring.ts';
import { createPool, type Db } from './store/db.ts';
import { createEventStore } from './store/events.ts';
import { createLimits } from './store/limits.ts';
import { createSessionStore, type SessionStore } from './store/sessions.ts';
import { createSigningKeyStore } from './store/signing-keys.ts';
import { createUserStore } from './store/users.ts';

export interface AuthService {
  app: Express;
  /** Package version and commit: on /healthz and in the start-up log. */
  build: BuildInfo;
  config: Readonly<AuthConfig>;
  logger: Logger;
  db: Db;
  keyring: Keyring;
  sessions: SessionStore;
  accounts: AccountDeps;
  /** Readiness turns false at once; then pools and timers close. */
  close(): Promise<void>;
  markShuttingDown(): void;
}

export interface ServiceOptions {
  logger?: Logger;
  now?: () => number;
  /** bcrypt itself (the native binding by default); tests inject one that records the costs it is given. */
  bcrypt?: Bcrypt;
  /** The hash time admission control plans with, in ms; measured at start-up (one hash at BCRYPT_COST) when unset. */
  hashMs?: number;
}

export async function createAuthService(
  config: Readonly<AuthConfig>,
  options: ServiceOptions = {},
): Promise<AuthService> {
  const logger = options.logger ?? createLogger({ service: 'auth', level: config.logLevel });
  if (config.bcryptCost < 10) {
    logger.warn(
      { bcrypt_cost: config.bcryptCost },
      'BCRYPT_COST below 10 is for tests only; use 12 or more in production',
    );
  }
  const now = options.now ?? Date.now;
  const db = createPool(config.databaseUrl, config.dbPoolMax, (error) =>
    logger.warn({ err: error }, 'postgres closed an idle connection; the next query reconnects'),
  );
  const redis = createRedis(config.redis);
  const closeConnections = async () => {
    keyring.stop();
    redis.disconnect();
    await db.end().catch(() => {});
  };

  const keyring = keyringFromConfig(config, createSigningKeyStore(db), now);

  try {
    // Redis may come up later (readiness reports it); PostgreSQL and the keys are needed now.
    await redis
      .connect()
      .catch((error: unknown) => logger.warn({ err: error }, 'redis not reachable at start-up'));
    const { created } = await keyring.init();
    if (created) logger.info({ algorithm: config.algorithm }, 'generated the first signing key');
  } catch (error) {
    await closeConnections();
    throw error;
  }
  keyring.startReloading(config.keyReloadInterval, (error) =>
    // a key row that fails its checks is a security event; an unreachable database is not
    error instanceof KeyIntegrityError || error instanceof KeyDecryptionError
      ? logger.error({ err: error }, 'signing key refused; the previous key set stays in use')
      : logger.warn({ err: error }, 'signing key reload failed'),
  );

  const metrics = createMetrics('auth');
  const bcryptSeconds = new Histogram({
    name: 'auth_bcrypt_duration_seconds',
    help: 'Time spent in bcrypt',
    labelNames: ['op'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2],
    registers: [metrics.registry],
  });
  const refreshReuse = new Counter({
    name: 'auth_refresh_reuse_total',
    help: 'Refresh tokens presented again after rotation (each revokes its session)',
    registers: [metrics.registry],
  });
  const cookieExchanges = new Counter({
    name: 'auth_cookie_exchange_total',
    help: "The gateway's cookie-to-token exchanges by outcome (cached token served, token minted, cookie refused)",
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });
  const logins = new Counter({
    name: 'auth_login_total',
    help: 'Login attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });

  const bcryptAdmitted = new Counter({
    name: 'auth_bcrypt_admitted_total',
    help: 'Password-hashing operations admitted, by operation',
    labelNames: ['op'] as const,
    registers: [metrics.registry],
  });
  const bcryptShed = new Counter({
    name: 'auth_bcrypt_shed_total',
    help: 'Password-hashing operations shed (503 overloaded), by operation and reason (budget, client, account)',
    labelNames: ['op', 'reason'] as const,
    registers: [metrics.registry],
  });

  const sessions = createSessionStore(
    redis,
    config.redisKeyPrefix,
    {
      idleTtl: config.refreshIdleTtl,
      absoluteTtl: config.refreshAbsoluteTtl,
      maxPerUser: config.sessionsMaxPerUser,
    },
    replicaWait(redis, config.redisWait),
  );
  const users = createUserStore(db);
  const passwords = createPasswordHasher({
    pepper: config.passwordPepper,
    cost: config.bcryptCost,
    storedCosts: await users.storedHashCosts().catch(async (error: unknown) => {
      await closeConnections();
      throw error;
    }),
    bcrypt: tracedBcrypt(options.bcrypt ?? bcrypt),
  });
  await passwords.warm();
  const admission = createAdmission(
    planAdmission(
      config.admission,
      options.hashMs ?? (await passwords.measureHash()),
      os.availableParallelism(),
    ),
    {
      admitted: (op) => bcryptAdmitted.inc({ op }),
      shed: (op, reason) => bcryptShed.inc({ op, reason }),
    },
  );
  logger.info(
    {
      thread_pool: admission.plan.poolSize,
      workers: admission.plan.workers,
      hash_ms: Math.round(admission.plan.hashMs * 10) / 10,
      budget_ms: Math.round(admission.plan.budgetMs),
      capacity: admission.plan.capacity,
      max_per_client: admission.plan.maxPerClient,
      max_per_account: admission.plan.maxPerAccount,
    },
    'bcrypt admission control',
  );
  new Gauge({
    name: 'auth_bcrypt_in_flight',
    help: 'Admitted password-hashing operations not yet finished (running or waiting for a thread)',
    registers: [metrics.registry],
    collect() {
      this.set(admission.inFlight());
    },
  });
  new Gauge({
    name: 'auth_bcrypt_queue_depth',
    help: 'Admitted password-hashing operations waiting for a thread-pool thread (in flight beyond the workers)',
    registers: [metrics.registry],
    collect() {
      this.set(admission.queueDepth());
    },
  });
  const settings = [
    ['auth_bcrypt_threadpool_size', 'libuv thread pool size (UV_THREADPOOL_SIZE)', admission.plan.poolSize],
    ['auth_bcrypt_workers', 'Hashes that run at once: min(thread pool size, cores)', admission.plan.workers],
    [
      'auth_bcrypt_hash_seconds',
      'One hash at BCRYPT_COST, measured at start-up',
      admission.plan.hashMs / 1000,
    ],
    [
      'auth_bcrypt_queue_budget_seconds',
      'Latency budget of admitted hashing work',
      admission.plan.budgetMs / 1000,
    ],
    [
      'auth_bcrypt_admission_capacity',
      'Operations admitted at once within the budget',
      admission.plan.capacity,
    ],
    [
      'auth_bcrypt_admission_max_per_client',
      'Admitted operations per client address',
      admission.plan.maxPerClient,
    ],
    [
      'auth_bcrypt_admission_max_per_account',
      'Admitted operations per account',
      admission.plan.maxPerAccount,
    ],
  ] as const;
  for (const [name, help, value] of settings) {
    new Gauge({ name, help, registers: [metrics.registry] }).set(value);
  }
  const accounts: AccountDeps = {
    users,
    events: createEventStore(db),
    sessions,
    keyring,
    limits: createLimits(redis, config.redisKeyPrefix, config.limits),
    admission,
    passwords,
    tokens: {
      issuer: config.issuer,
      audience: config.audience,
      clientId: config.clientId,
      ttl: config.accessTokenTtl,
    },
    refreshIdleTtl: config.refreshIdleTtl,
    cookieTokenCache: config.cookieTokenCache,
    now,
    observe: {
      bcrypt: (op, seconds) => bcryptSeconds.observe({ op }, seconds),
      login: (outcome) => logins.inc({ outcome }),
      refreshReuse: () => refreshReuse.inc(),
      cookieExchange: (outcome) => cookieExchanges.inc({ outcome }),
    },
  };

  if (config.bootstrapAdmin) {
    try {
      const result = await bootstrapAdmin(accounts, config.bootstrapAdmin);
      logger.info({ username: result.username, created: result.created }, 'bootstrap admin ensured');
    } catch (error) {
      await closeConnections();
      throw error;
    }
  }

  const verifier = createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    algorithms: [config.algorithm],
    keys: localKeySet(() => keyring.verificationKeys()),
    now,
  });

  let shuttingDown = false;
  const ready = async () => {
    if (shuttingDown) return false;
    const [dbUp, redisUp] = await Promise.all([
      db.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      sessions.ping(),
    ]);
    return dbUp && redisUp;
  };

  const build = buildInfo('auth', new URL('../package.json', import.meta.url));
  const app = buildApp({
    build,
    config,
    logger,
    metrics,
    accounts,
    keyring,
    sessions,
    verifier,
    ready,
  });

  return {
    app,
    build,
    config,
    logger,
    db,
    keyring,
    sessions,
    accounts,
    markShuttingDown: () => {
      shuttingDown = true;
    },
    close: async () => {
      shuttingDown = true;
      await closeConnections();
    },
  };
}

/** bcrypt with a span per hash and per comparison (no-ops unless tracing is on: packages/telemetry/src/tracing.ts). */
function tracedBcrypt(engine: Bcrypt): Bcrypt {
  return {
    hash: (data, cost) =>
      withSpan('auth', 'bcrypt.hash', { 'bcrypt.cost': cost }, () => engine.hash(data, cost)),
    compare: (data, encrypted) =>
      withSpan('auth', 'bcrypt.compare', {}, () => engine.compare(data, encrypted)),
  };
}
