/** Wires the resource service: remote key set, verifier (with metrics), optional session check, app. */

import { type BuildInfo, buildInfo } from '@authstack/lifecycle';
import { createRedis, type RedisClient, redisFailure, sessionKeyOf } from '@authstack/redis';
import { createLogger, type Logger, tracingOn, withSpan } from '@authstack/telemetry';
import {
  type AccessTokenClaims,
  createVerifier,
  remoteKeySet,
  type Verifier,
  VerifyError,
} from '@authstack/verifier';
import type { Express } from 'express';
import { Command } from 'ioredis';
import { buildApp, buildInternalApp } from './app.ts';
import type { ResourceConfig } from './config.ts';
import { createResourceMetrics } from './metrics.ts';

export interface ResourceService {
  app: Express;
  /** `/metrics` on `INTERNAL_PORT`, when set. */
  internalApp: Express | undefined;
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
  const metrics = createResourceMetrics();

  const keys = remoteKeySet({
    jwksUri: config.jwksUri,
    algorithms: config.algorithms,
    cooldownMs: config.jwksCooldown * 1000,
    ...(config.jwksRefreshInterval ? { refreshIntervalMs: config.jwksRefreshInterval * 1000 } : {}),
    ...(options.now ? { now: options.now } : {}),
    onFetch: ({ ok, keys: count, error }) => {
      metrics.jwksFetch(ok);
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
  const count = metrics.verification;
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
  metrics.watchCache(inner);

  let redis: RedisClient | undefined;
  let sessionCheck: ((claims: AccessTokenClaims) => Promise<void>) | undefined;
  if (config.verifyMode === 'session') {
    // Auto-pipelined: the session checks of concurrent requests share one write and one read (one round trip)
    // instead of one each. Each request still sends its own EXISTS, after its request arrived, so a session
    // deleted before that (a logout) is refused at once. Not with tracing on: a pipeline is sent from the first
    // command's context, and the others' `exists` spans would land in that request's trace.
    const client = createRedis(config.redis, { autoPipelining: !tracingOn() });
    await client
      .connect()
      .catch((error: unknown) => logger.warn({ err: error }, 'redis not reachable at start-up'));
    redis = client;
    // While the client is not ready the command goes out as it would without pipelining, and an unreachable Redis
    // is refused at once (503): an auto-pipelined command on a cluster without its slot map would first wait for
    // the next connection attempt.
    const exists = (key: string): Promise<number> => {
      if (client.status === 'ready') return client.exists(key);
      const command = new Command('exists', [key]);
      void client.sendCommand(command);
      return command.promise as Promise<number>;
    };
    // One promise per check: the reply, counted, then refused or passed on; a failure classified as `withRedis`
    // does (unreachable: 503, anything else passes through).
    sessionCheck = (claims) =>
      exists(sessionKeyOf(config.redisKeyPrefix, claims.sub, claims.sid)).then(
        (alive) => {
          metrics.sessionCheck(alive === 1 ? 'alive' : 'revoked');
          if (alive !== 1) throw new VerifyError('session_revoked');
        },
        (error: unknown) => {
          throw redisFailure(error);
        },
      );
  }

  const firstFetch = await keys.start();
  if (!firstFetch)
    logger.warn({ jwks_uri: config.jwksUri }, 'JWKS not reachable yet; retrying in the background');

  let shuttingDown = false;
  const ready = async () => {
    if (shuttingDown) return false;
    const jwks = keys.ready();
    metrics.dependencyReady('jwks', jwks);
    if (!redis) return jwks;
    const redisUp = await redis.ping().then(
      (pong) => pong === 'PONG',
      () => false,
    );
    metrics.dependencyReady('redis', redisUp);
    return jwks && redisUp;
  };

  const build = buildInfo('resource', new URL('../package.json', import.meta.url));
  const app = buildApp({
    build,
    logger,
    metrics,
    verifier,
    trustProxy: config.trustProxy,
    ready,
    internalMetrics: config.internalPort !== undefined,
    study: {
      verifyMode: config.verifyMode,
      results: metrics.results,
      sessionChecks: metrics.sessionChecks,
      explainPerMinute: config.explainPerMinute,
    },
    ...(sessionCheck ? { sessionCheck } : {}),
  });
  return {
    app,
    internalApp: config.internalPort !== undefined ? buildInternalApp({ metrics, logger }) : undefined,
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
