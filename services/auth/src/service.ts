/**
 * Wires the auth service together: pool, Redis, keyring, metrics, the use cases' dependencies, verifier and app.
 * `createAuthService()` connects and prepares (signing key, bootstrap admin) but does not listen. Whatever fails
 * on the way closes the connections in one place and rethrows.
 */
import { type BuildInfo, buildInfo } from '@authstack/lifecycle';
import { createRedis } from '@authstack/redis';
import { createLogger, type Logger } from '@authstack/telemetry';
import { createVerifier, localKeySet } from '@authstack/verifier';
import type { Express } from 'express';
import { buildApp, buildInternalApp } from './app.ts';
import type { AuthConfig } from './config.ts';
import { bootstrapAdmin } from './domain/accounts.ts';
import type { UseCaseDeps } from './domain/deps.ts';
import type { Bcrypt } from './domain/passwords.ts';
import { KeyDecryptionError, KeyIntegrityError } from './keys/crypto.ts';
import { type Keyring, keyringFromConfig } from './keys/keyring.ts';
import { createAuthMetrics } from './metrics.ts';
import { startRevocationRetry } from './revocation-retry.ts';
import { createPool, type Db } from './store/db.ts';
import type { SessionStore } from './store/sessions.ts';
import { createSigningKeyStore } from './store/signing-keys.ts';
import { createUseCases } from './use-cases.ts';

export interface AuthService {
  app: Express;
  /** `/metrics` and the JWKS on `INTERNAL_PORT`, when set. */
  internalApp: Express | undefined;
  /** Package version and commit: on /healthz and in the start-up log. */
  build: BuildInfo;
  config: Readonly<AuthConfig>;
  logger: Logger;
  db: Db;
  keyring: Keyring;
  sessions: SessionStore;
  /** What the use cases touch (stores, limits, admission, bcrypt, token settings). */
  useCases: UseCaseDeps;
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
  /** How long an early shed waits for its 503, in ms; derived from the hash time when unset (`admission.ts`). */
  shedDelayMs?: number;
  /** How often queued session revocations are retried, in ms (default 5 s). */
  revocationRetryMs?: number;
}

export async function createAuthService(
  config: Readonly<AuthConfig>,
  options: ServiceOptions = {},
): Promise<AuthService> {
  const logger = options.logger ?? createLogger({ service: 'auth', level: config.logLevel });
  const now = options.now ?? Date.now;
  const db = createPool(config.databaseUrl, config.dbPoolMax, (error) =>
    logger.warn({ err: error }, 'postgres closed an idle connection; the next query reconnects'),
  );
  const redis = createRedis(config.redis);
  const keyring = keyringFromConfig(config, createSigningKeyStore(db), now);
  const closeConnections = async () => {
    keyring.stop();
    redis.disconnect();
    await db.end().catch(() => {});
  };

  let useCases: UseCaseDeps;
  const metrics = createAuthMetrics();
  try {
    // Redis may come up later (readiness reports it); PostgreSQL and the keys are needed now.
    await redis
      .connect()
      .catch((error: unknown) => logger.warn({ err: error }, 'redis not reachable at start-up'));
    const { created } = await keyring.init();
    if (created) logger.info({ algorithm: config.algorithm }, 'generated the first signing key');
    keyring.startReloading(config.keyReloadInterval, (error) =>
      // a key row that fails its checks is a security event; an unreachable database is not
      error instanceof KeyIntegrityError || error instanceof KeyDecryptionError
        ? logger.error({ err: error }, 'signing key refused; the previous key set stays in use')
        : logger.warn({ err: error }, 'signing key reload failed'),
    );
    useCases = await createUseCases(config, { db, redis, keyring }, { logger, metrics }, { ...options, now });
    if (config.bootstrapAdmin) {
      const result = await bootstrapAdmin(useCases, config.bootstrapAdmin);
      logger.info({ username: result.username, created: result.created }, 'bootstrap admin ensured');
    }
  } catch (error) {
    await closeConnections();
    throw error;
  }

  const revocationRetry = startRevocationRetry(useCases, logger, options.revocationRetryMs ?? 5_000);

  const verifier = createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    algorithms: [config.algorithm],
    keys: localKeySet(() => keyring.verificationKeys()),
    now,
  });
  const { sessions } = useCases;
  let shuttingDown = false;
  const dbUp = () =>
    db.query('SELECT 1').then(
      () => true,
      () => false,
    );
  const ready = async () => {
    if (shuttingDown) return false;
    const [postgres, redis] = await Promise.all([dbUp(), sessions.ping()]);
    metrics.dependencyReady('postgres', postgres);
    metrics.dependencyReady('redis', redis);
    return postgres && redis;
  };
  const build = buildInfo('auth', new URL('../package.json', import.meta.url));
  const internalMetrics = config.internalPort !== undefined;
  const app = buildApp({
    build,
    config,
    logger,
    metrics,
    useCases,
    keyring,
    sessions,
    verifier,
    ready,
    internalMetrics,
  });
  return {
    app,
    internalApp: internalMetrics ? buildInternalApp({ metrics, logger, keyring, config }) : undefined,
    build,
    config,
    logger,
    db,
    keyring,
    sessions,
    useCases,
    markShuttingDown: () => {
      shuttingDown = true;
    },
    close: async () => {
      shuttingDown = true;
      await revocationRetry.stop();
      await closeConnections();
    },
  };
}
