/**
 * The resource service's configuration: parsed from the environment once, validated, frozen.
 * A bad value stops start-up with a message naming the variable (see `.env.example`); empty values count as
 * unset, and `REDIS_URL` and `REDIS_SENTINEL_PASSWORD` may come from files (`<NAME>_FILE`).
 */
import {
  ConfigError,
  checkInternalPort,
  checkRedis,
  internalPortSchema,
  parseEnvironment,
  REDIS_FILE_VARIABLES,
  redisFields,
  redisTarget,
  type TrustProxy,
  trustProxySchema,
} from '@authstack/config';
import type { RedisTarget } from '@authstack/redis';
import { z } from 'zod';

export { ConfigError };

const ALGORITHMS = ['RS256', 'ES256'] as const;

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3002),
    INTERNAL_PORT: internalPortSchema,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    JWT_ISSUER: z.url().default('https://localhost:8443'),
    JWT_AUDIENCE: z.string().min(1).default('authstack-api'),
    JWT_ALGORITHMS: z
      .string()
      .default('RS256')
      .transform((value) => value.split(',').map((alg) => alg.trim()))
      .pipe(z.array(z.enum(ALGORITHMS)).min(1)),
    JWKS_URI: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:3001/.well-known/jwks.json'),
    JWKS_COOLDOWN: z.coerce.number().int().min(1).max(3600).default(30),
    /** Optional override of the background refresh period; default: the JWKS response's max-age. */
    JWKS_REFRESH_INTERVAL: z.coerce.number().int().min(1).max(86400).optional(),
    CLOCK_TOLERANCE: z.coerce.number().int().min(0).max(60).default(10),
    TOKEN_CACHE_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
    VERIFY_MODE: z.enum(['stateless', 'session']).default('stateless'),
    ...redisFields,
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,64}$/)
      .default('authstack:'),
    TRUST_PROXY: trustProxySchema,
    EXPLAIN_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000).default(60),
    SHUTDOWN_TIMEOUT: z.coerce.number().int().min(1).max(120).default(10),
  })
  .superRefine((env, ctx) => {
    checkRedis(env, ctx);
    checkInternalPort(env, ctx);
  });

type Parsed = z.infer<typeof schema>;

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
  const e = parseEnvironment(schema, env, { fileVariables: REDIS_FILE_VARIABLES });
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
