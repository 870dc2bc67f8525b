/**
 * Builds what the use cases touch (`domain/deps.ts`) from the configuration and the open connections: the stores,
 * the limits, peppered bcrypt and admission control in front of it, and the token settings.
 */
import os from 'node:os';
import { type RedisClient, replicaWait } from '@authstack/redis';
import type { Logger } from '@authstack/telemetry';
import bcrypt from 'bcrypt';
import type { AuthConfig } from './config.ts';
import { createAdmission, planAdmission } from './domain/admission.ts';
import type { UseCaseDeps } from './domain/deps.ts';
import { type Bcrypt, createPasswordHasher } from './domain/passwords.ts';
import type { Keyring } from './keys/keyring.ts';
import { type AuthMetrics, tracedBcrypt } from './metrics.ts';
import type { Db } from './store/db.ts';
import { createEventStore } from './store/events.ts';
import { createLimits } from './store/limits.ts';
import { createRevocationStore } from './store/revocations.ts';
import { createSessionStore } from './store/sessions.ts';
import { createUserStore } from './store/users.ts';

export interface UseCaseOptions {
  now: () => number;
  /** bcrypt itself (the native binding by default). */
  bcrypt?: Bcrypt | undefined;
  /** The hash time admission control plans with, in ms; measured now (one hash at BCRYPT_COST) when unset. */
  hashMs?: number | undefined;
  /** How long an early shed waits for its 503, in ms; derived from the hash time when unset (`admission.ts`). */
  shedDelayMs?: number | undefined;
}

export async function createUseCases(
  config: Readonly<AuthConfig>,
  open: { db: Db; redis: RedisClient; keyring: Keyring },
  observability: { logger: Logger; metrics: AuthMetrics },
  options: UseCaseOptions,
): Promise<UseCaseDeps> {
  const { db, redis, keyring } = open;
  const { logger, metrics } = observability;
  if (config.bcryptCost < 10) {
    logger.warn(
      { bcrypt_cost: config.bcryptCost },
      'BCRYPT_COST below 10 is for tests only; use 12 or more in production',
    );
  }
  const users = createUserStore(db);
  const passwords = createPasswordHasher({
    pepper: config.passwordPepper,
    cost: config.bcryptCost,
    storedCosts: await users.storedHashCosts(),
    bcrypt: tracedBcrypt(options.bcrypt ?? bcrypt),
  });
  await passwords.warm();
  const hashMs = options.hashMs ?? (await passwords.measureHash());
  const admission = createAdmission(
    planAdmission(config.admission, hashMs, os.availableParallelism(), { shedDelayMs: options.shedDelayMs }),
    metrics.admission,
  );
  const { plan } = admission;
  logger.info(
    {
      thread_pool: plan.poolSize,
      workers: plan.workers,
      hash_ms: Math.round(plan.hashMs * 10) / 10,
      budget_ms: Math.round(plan.budgetMs),
      capacity: plan.capacity,
      max_per_client: plan.maxPerClient,
      max_per_account: plan.maxPerAccount,
      shed_delay_ms: plan.shedDelayMs,
    },
    'bcrypt admission control',
  );
  metrics.watch(admission);
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
  return {
    users,
    events: createEventStore(db),
    sessions,
    revocations: createRevocationStore(db),
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
    now: options.now,
    observe: metrics.observe,
  };
}
