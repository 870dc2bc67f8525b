/**
 * The resource service's configuration: parsed from the environment once, validated, frozen.
 * A bad value stops start-up with a message naming the variable (the schema describes each; `make config-docs`
 * writes `.env.example` from it); empty values count as unset, and `REDIS_URL` and `REDIS_SENTINEL_PASSWORD` may
 * come from files (`<NAME>_FILE`).
 */
import {
  audienceSchema,
  ConfigError,
  checkInternalPort,
  checkRedis,
  hostSchema,
  internalPortSchema,
  issuerSchema,
  logLevelSchema,
  parseEnvironment,
  portSchema,
  REDIS_FILE_VARIABLES,
  redisFields,
  redisKeyPrefixSchema,
  redisTarget,
  shutdownTimeoutSchema,
  type TrustProxy,
  trustProxySchema,
} from '@authstack/config';
import type { RedisTarget } from '@authstack/redis';
import { z } from 'zod';

export { ConfigError };

const ALGORITHMS = ['RS256', 'ES256'] as const;

/** The environment's schema: names, defaults and descriptions (`make config-docs` documents it). */
export const configSchema = z
  .object({
    HOST: hostSchema,
    PORT: portSchema(3002),
    INTERNAL_PORT: internalPortSchema,
    LOG_LEVEL: logLevelSchema,
    JWT_ISSUER: issuerSchema,
    JWT_AUDIENCE: audienceSchema,
    JWT_ALGORITHMS: z
      .string()
      .default('RS256')
      .describe('Accepted signing algorithms, comma-separated (RS256, ES256); never HS*, never none.')
      .transform((value) => value.split(',').map((alg) => alg.trim()))
      .pipe(z.array(z.enum(ALGORITHMS)).min(1)),
    JWKS_URI: z
      .url({ protocol: /^https?$/ })
      .default('http://127.0.0.1:3001/.well-known/jwks.json')
      .describe(
        'Where the public keys are fetched: auth directly (the containers use http://auth:3001/.well-known/jwks.json).',
      ),
    JWKS_COOLDOWN: z.coerce
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(30)
      .describe('Seconds between two JWKS fetches caused by unknown `kid`s.'),
    JWKS_REFRESH_INTERVAL: z.coerce.number().int().min(1).max(86400).optional().meta({
      description: 'Background JWKS refresh period in seconds (1..86400).',
      unset: "the JWKS response's max-age",
    }),
    CLOCK_TOLERANCE: z.coerce
      .number()
      .int()
      .min(0)
      .max(60)
      .default(10)
      .describe('Clock leeway for exp, nbf and iat, in seconds (0..60).'),
    TOKEN_CACHE_SIZE: z.coerce
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(10_000)
      .describe('Verified-token cache entries (0 disables it).'),
    VERIFY_MODE: z
      .enum(['stateless', 'session'])
      .default('stateless')
      .describe(
        'stateless: signature and claims only. session: also one Redis lookup per request, so a logout takes effect at once (docs/security-model.md, "revocation window").',
      ),
    ...redisFields,
    REDIS_KEY_PREFIX: redisKeyPrefixSchema,
    TRUST_PROXY: trustProxySchema,
    EXPLAIN_RATE_LIMIT: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(60)
      .describe(
        'Verification explanations (POST /api/explain, the study console) per client (an IPv4 address, an IPv6 /64) per minute, per instance.',
      ),
    SHUTDOWN_TIMEOUT: shutdownTimeoutSchema,
  })
  .superRefine((env, ctx) => {
    checkRedis(env, ctx);
    checkInternalPort(env, ctx);
  });

type Parsed = z.infer<typeof configSchema>;

export interface ResourceConfig {
  host: string;
  port: number;
  /** `/metrics` on a port of their own; unset: `/metrics` on `port`. */
  internalPort: number | undefined;
  logLevel: Parsed['LOG_LEVEL'];
  issuer: string;
  audience: string;
  algorithms: Parsed['JWT_ALGORITHMS'];
  jwksUri: string;
  jwksCooldown: number;
  jwksRefreshInterval: number | undefined;
  clockTolerance: number;
  tokenCacheSize: number;
  verifyMode: Parsed['VERIFY_MODE'];
  /** A Redis URL, or Sentinels naming the primary (session mode only). */
  redis: RedisTarget;
  redisKeyPrefix: string;
  /** express `trust proxy`, parsed by `@authstack/config` exactly as auth parses it. */
  trustProxy: TrustProxy;
  explainPerMinute: number;
  shutdownTimeout: number;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<ResourceConfig> {
  const e = parseEnvironment(configSchema, env, { fileVariables: REDIS_FILE_VARIABLES });
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    internalPort: e.INTERNAL_PORT,
    logLevel: e.LOG_LEVEL,
    issuer: e.JWT_ISSUER.replace(/\/$/, ''),
    audience: e.JWT_AUDIENCE,
    algorithms: e.JWT_ALGORITHMS,
    jwksUri: e.JWKS_URI,
    jwksCooldown: e.JWKS_COOLDOWN,
    jwksRefreshInterval: e.JWKS_REFRESH_INTERVAL,
    clockTolerance: e.CLOCK_TOLERANCE,
    tokenCacheSize: e.TOKEN_CACHE_SIZE,
    verifyMode: e.VERIFY_MODE,
    redis: redisTarget(e),
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    trustProxy: e.TRUST_PROXY,
    explainPerMinute: e.EXPLAIN_RATE_LIMIT,
    shutdownTimeout: e.SHUTDOWN_TIMEOUT,
  });
}
