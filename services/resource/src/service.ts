/** Wires the resource service: remote key set, verifier (with metrics), optional session check, app. */

import { type BuildInfo, buildInfo } from '@authstack/lifecycle';
import { createRedis, type RedisClient, sessionKeyOf, withRedis } from '@authstack/redis';
import { createLogger, createMetrics, type Logger, withSpan } from '@authstack/telemetry';
import {
  type AccessTokenClaims,
  createVerifier,
  remoteKeySet,
  type Verifier,
  VerifyError,
} from '@authstack/verifier';
import type { Express } from 'express';
import { Counter, Gauge } from 'prom-client';
import { buildApp } from './app.ts';
import type { ResourceConfig } from './config.ts';

export interface ResourceService {
  app: Express;
  /** Package version and commit: on /healthz and in the start-up log. */
  build: BuildInfo;
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
  // The same counts as the metric, for the study console's JSON summary (GET /api/stats).
  const results: Record<string, number> = {};
  const count = (result: string) => {
    verifications.inc({ result });
    results[result] = (results[result] ?? 0) + 1;
  };
  const verifier: Verifier = {
    // A span per verification (a no-op unless tracing is on): signature and claims, never a call to auth.
    verify: (token) =>
      withSpan('resource', 'jwt.verify', {}, async (annotate) => {
        try {
          const claims = await inner.verify(token);
          count('valid');
          annotate('jwt.result', 'valid');
          return claims;
        } catch (error) {
          const result = (error as { code?: string }).code ?? 'error';
          count(result);
          annotate('jwt.result', result);
          throw error;
        }
      }),
    // Explanations are not verifications: they are neither counted nor cached.
    explain: (token, explainOptions) => inner.explain(token, explainOptions),
    // A verified-token cache hit answered at once, without a promise (the middleware's fast path).
    peek(token) {
      const claims = inner.peek?.(token);
      if (claims) count('valid');
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

  const sessionChecks = new Counter({
    name: 'resource_session_checks_total',
    help: 'Session-mode checks of a verified token by result (alive or revoked)',
    labelNames: ['result'] as const,
    registers: [metrics.registry],
  });
  const sessionResults: Record<string, number> = {};
  const countCheck = (result: 'alive' | 'revoked') => {
    sessionChecks.inc({ result });
    sessionResults[result] = (sessionResults[result] ?? 0) + 1;
  };

  let redis: RedisClient | undefined;
  let sessionCheck: ((claims: AccessTokenClaims) => Promise<void>) | undefined;
  if (config.verifyMode === 'session') {
    const client = createRedis(config.redis);
    await client
      .connect()
      .catch((error: unknown) => logger.warn({ err: error }, 'redis not reachable at start-up'));
    redis = client;
    sessionCheck = async (claims) => {
      const alive = await withRedis(() =>
        client.exists(sessionKeyOf(config.redisKeyPrefix, claims.sub, claims.sid)),
      );
      countCheck(alive === 1 ? 'alive' : 'revoked');
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

  const build = buildInfo('resource', new URL('../package.json', import.meta.url));
  const app = buildApp({
    build,
    logger,
    metrics,
    verifier,
    trustProxy: config.trustProxy,
    ready,
    study: {
      verifyMode: config.verifyMode,
      results: () => ({ ...results }),
      sessionChecks: () => ({ ...sessionResults }),
      explainPerMinute: config.explainPerMinute,
    },
    ...(sessionCheck ? { sessionCheck } : {}),
  });
  return {
    app,
    build,
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
