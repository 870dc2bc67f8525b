/** Wires the resource service: remote key set, verifier (with metrics), optional session check, app. */
import { serviceUnavailable } from '@authstack/http-problem';
import { createLogger, createMetrics, type Logger } from '@authstack/telemetry';
import {
  type AccessTokenClaims,
  createVerifier,
  remoteKeySet,
  type Verifier,
  VerifyError,
} from '@authstack/verifier';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { buildApp } from './app.ts';
import type { ResourceConfig } from './config.ts';

export interface ResourceService {
  app: Express;
  logger: Logger;
  verifier: Verifier;
  keys: ReturnType<typeof remoteKeySet>;
  markShuttingDown(): void;
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger?: Logger;
  now?: () => number;
}

/**
 * The session key written by the auth service (`services/auth/src/store/sessions.ts`):
 * `<prefix>session:{<sub>}:<sid>` (the user id is the Redis Cluster hash tag).
 * Shared by contract, not by import: a service never imports another service.
 */
export const sessionKey = (prefix: string, sub: string, sid: string) => `${prefix}session:{${sub}}:${sid}`;

export async function createResourceService(
  config: Readonly<ResourceConfig>,
  options: ServiceOptions = {},
): Promise<ResourceService> {
  const logger = options.logger ?? createLogger({ service: 'resource', level: config.logLevel });
  const metrics = createMetrics('resource');
  const verifications = new Counter({
    name: 'resource_token_verifications_total',
    help: 'Access-token verifications by result (valid or the error code)',
    labelNames: ['result'] as const,
    registers: [metrics.registry],
  });
  const jwksFetches = new Counter({
    name: 'resource_jwks_fetches_total',
    help: 'JWKS fetches by outcome',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });

  const keys = remoteKeySet({
    jwksUri: config.jwksUri,
    algorithms: config.algorithms,
    cooldownMs: config.jwksCooldown * 1000,
    ...(config.jwksRefreshInterval ? { refreshIntervalMs: config.jwksRefreshInterval * 1000 } : {}),
    ...(options.now ? { now: options.now } : {}),
    onFetch: ({ ok, keys: count, error }) => {
      jwksFetches.inc({ outcome: ok ? 'ok' : 'error' });
      if (ok) logger.debug({ keys: count }, 'JWKS fetched');
      else logger.warn({ err: error, keys_kept: count }, 'JWKS fetch failed; keeping the last good key set');
    },
  });

  const inner = createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.algorithms,
    keys,
    clockToleranceSec: config.clockTolerance,
    cacheSize: config.tokenCacheSize,
    ...(options.now ? { now: options.now } : {}),
  });
  const verifier: Verifier = {
    async verify(token) {
      try {
        const claims = await inner.verify(token);
        verifications.inc({ result: 'valid' });
        return claims;
      } catch (error) {
        verifications.inc({ result: (error as { code?: string }).code ?? 'error' });
        throw error;
      }
    },
    peek(token) {
      const claims = inner.peek?.(token);
      if (claims) verifications.inc({ result: 'valid' });
      return claims;
    },
    stats: () => inner.stats(),
  };
  new Gauge({
    name: 'resource_verified_token_cache',
    help: 'Verified-token cache: hits, misses and size',
    labelNames: ['stat'] as const,
    registers: [metrics.registry],
    collect() {
      const stats = inner.stats();
      this.set({ stat: 'hits' }, stats.cacheHits);
      this.set({ stat: 'misses' }, stats.cacheMisses);
      this.set({ stat: 'size' }, stats.cacheSize);
    },
  });

  let redis: Redis | undefined;
  let sessionCheck: ((claims: AccessTokenClaims) => Promise<void>) | undefined;
  if (config.verifyMode === 'session') {
    const client = new Redis(config.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    client.on('error', () => {});
    await client
      .connect()
      .catch((error: unknown) => logger.warn({ err: error }, 'redis not reachable at start-up'));
    redis = client;
    sessionCheck = async (claims) => {
      let alive: number;
      try {
        alive = await client.exists(sessionKey(config.redisKeyPrefix, claims.sub, claims.sid));
      } catch (error) {
        throw serviceUnavailable('redis', error);
      }
      if (alive !== 1) throw new VerifyError('session_revoked');
    };
  }

  const firstFetch = await keys.start();
  if (!firstFetch)
    logger.warn({ jwks_uri: config.jwksUri }, 'JWKS not reachable yet; retrying in the background');

  let shuttingDown = false;
  const ready = async () => {
    if (shuttingDown || !keys.ready()) return false;
    if (!redis) return true;
    return redis.ping().then(
      (pong) => pong === 'PONG',
      () => false,
    );
  };

  const app = buildApp({
    logger,
    metrics,
    verifier,
    trustProxy: config.trustProxy,
    ready,
    ...(sessionCheck ? { sessionCheck } : {}),
  });
  return {
    app,
    logger,
    verifier,
    keys,
    markShuttingDown: () => {
      shuttingDown = true;
    },
    close: async () => {
      shuttingDown = true;
      keys.stop();
      redis?.disconnect();
    },
  };
}
