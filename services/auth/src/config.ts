/**
 * The auth service's configuration: parsed from the environment once, validated, frozen.
 * A bad or missing value stops start-up with a message naming the variable. Secrets have no defaults and
 * may come from files (`<NAME>_FILE`, for Docker and Kubernetes secrets). Every variable is in `.env.example`.
 */
import {
  ConfigError,
  checkRedis,
  type Env,
  parseEnvironment,
  REDIS_FILE_VARIABLES,
  redisFields,
  redisTarget,
  resolveFileVariables,
  type TrustProxy,
  trustProxySchema,
} from '@authstack/config';
import type { RedisTarget, ReplicaWaitSettings } from '@authstack/redis';
import { z } from 'zod';
import type { AdmissionSettings } from './domain/admission.ts';
import type { LimitSettings } from './store/limits.ts';

export { ConfigError, resolveFileVariables };

/** Variables that may be given as `<NAME>_FILE` instead (the file's content, trailing newline removed). */
export const FILE_VARIABLES = [
  'DATABASE_URL',
  ...REDIS_FILE_VARIABLES,
  'KEY_ENCRYPTION_KEY',
  'PASSWORD_PEPPER',
  'BOOTSTRAP_ADMIN_PASSWORD',
] as const;

const seconds = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

const kek = z
  .string({ error: 'required: 32 random bytes, base64 (make env writes one)' })
  .transform((value, ctx) => {
    const bytes = Buffer.from(value, 'base64');
    if (
      bytes.length !== 32 ||
      bytes.toString('base64').replace(/=+$/, '') !== value.trim().replace(/=+$/, '')
    ) {
      ctx.addIssue({ code: 'custom', message: 'must be exactly 32 bytes, base64-encoded' });
      return z.NEVER;
    }
    return bytes;
  });

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3001),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/ })
      .default('postgres://postgres@127.0.0.1:5432/authstack'),
    DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
    ...redisFields,
    // Replicas that must acknowledge a session's creation, rotation or revocation before it is reported (0: none).
    REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(5).default(0),
    REDIS_WAIT_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(500),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,64}$/)
      .default('authstack:'),
    KEY_ENCRYPTION_KEY: z.preprocess(emptyAsUndefined, kek),
    PASSWORD_PEPPER: z.preprocess(emptyAsUndefined, kek),
    JWT_ISSUER: z.url().default('https://localhost:8443'),
    JWT_AUDIENCE: z.string().min(1).default('authstack-api'),
    JWT_ALGORITHM: z.enum(['RS256', 'ES256']).default('RS256'),
    JWT_CLIENT_ID: z.string().min(1).default('authstack-client'),
    ACCESS_TOKEN_TTL: seconds(30, 3600, 300),
    REFRESH_IDLE_TTL: seconds(1, 90 * 86400, 7 * 86400),
    REFRESH_ABSOLUTE_TTL: seconds(1, 365 * 86400, 30 * 86400),
    SESSIONS_MAX_PER_USER: z.coerce.number().int().min(1).max(1000).default(50),
    COOKIE_TOKEN_CACHE_TTL: seconds(0, 3600, 30),
    JWKS_MAX_AGE: seconds(0, 86400, 300),
    KEY_ACTIVATION_DELAY: seconds(0, 7 * 86400, 600),
    KEY_RELOAD_INTERVAL: seconds(1, 3600, 30),
    BCRYPT_COST: z.coerce.number().int().min(4).max(16).default(12),
    // libuv reads UV_THREADPOOL_SIZE itself (once, at start); auth reads it to size admission control.
    UV_THREADPOOL_SIZE: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(1024).default(4)),
    BCRYPT_QUEUE_BUDGET_MS: z.preprocess(
      emptyAsUndefined,
      z.coerce.number().int().min(10).max(60_000).optional(),
    ),
    BCRYPT_MAX_PER_CLIENT: z.preprocess(
      emptyAsUndefined,
      z.coerce.number().int().min(1).max(10_000).optional(),
    ),
    BCRYPT_MAX_PER_ACCOUNT: z.preprocess(
      emptyAsUndefined,
      z.coerce.number().int().min(1).max(10_000).default(2),
    ),
    BOOTSTRAP_ADMIN_USERNAME: z.preprocess(emptyAsUndefined, z.string().optional()),
    BOOTSTRAP_ADMIN_PASSWORD: z.preprocess(emptyAsUndefined, z.string().optional()),
    TRUST_PROXY: trustProxySchema,
    LOGIN_MAX_FAILURES_PER_USER_IP: z.coerce.number().int().min(1).max(1000).default(5),
    LOGIN_BLOCK_SECONDS: seconds(1, 86400, 900),
    LOGIN_MAX_FAILURES_PER_IP_PER_DAY: z.coerce.number().int().min(1).max(1_000_000).default(100),
    LOGIN_MAX_FAILURES_PER_USER_PER_HOUR: z.coerce.number().int().min(1).max(100).default(100),
    LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(30),
    LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(300),
    REGISTER_MAX_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(10),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i)
      .default('16kb'),
    SHUTDOWN_TIMEOUT: seconds(1, 120, 10),
  })
  .superRefine((env, ctx) => {
    checkRedis(env, ctx);
    if (env.REDIS_WAIT_REPLICAS > 0 && env.REDIS_CLUSTER_NODES !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_WAIT_REPLICAS'],
        message:
          "is not supported on a Redis Cluster yet (WAIT would reach a node other than the key's): set 0",
      });
    }
    if (env.KEY_ACTIVATION_DELAY < env.JWKS_MAX_AGE) {
      ctx.addIssue({
        code: 'custom',
        path: ['KEY_ACTIVATION_DELAY'],
        message: 'must be at least JWKS_MAX_AGE, so verifiers see a new key before it signs',
      });
    }
    if (env.PASSWORD_PEPPER.equals(env.KEY_ENCRYPTION_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: ['PASSWORD_PEPPER'],
        message: 'must differ from KEY_ENCRYPTION_KEY (one key, one purpose)',
      });
    }
    if (env.COOKIE_TOKEN_CACHE_TTL >= env.ACCESS_TOKEN_TTL) {
      ctx.addIssue({
        code: 'custom',
        path: ['COOKIE_TOKEN_CACHE_TTL'],
        message: 'must be less than ACCESS_TOKEN_TTL (a cached token is served only while it is fresh)',
      });
    }
    if (env.REFRESH_ABSOLUTE_TTL < env.REFRESH_IDLE_TTL) {
      ctx.addIssue({
        code: 'custom',
        path: ['REFRESH_ABSOLUTE_TTL'],
        message: 'must be at least REFRESH_IDLE_TTL',
      });
    }
    if ((env.BOOTSTRAP_ADMIN_USERNAME === undefined) !== (env.BOOTSTRAP_ADMIN_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [
          env.BOOTSTRAP_ADMIN_USERNAME === undefined
            ? 'BOOTSTRAP_ADMIN_USERNAME'
            : 'BOOTSTRAP_ADMIN_PASSWORD',
        ],
        message: 'set BOOTSTRAP_ADMIN_USERNAME and BOOTSTRAP_ADMIN_PASSWORD together',
      });
    }
  });

type Parsed = z.infer<typeof schema>;

export interface AuthConfig {
  host: string;
  port: number;
  logLevel: Parsed['LOG_LEVEL'];
  databaseUrl: string;
  dbPoolMax: number;
  /** A Redis URL, or Sentinels naming the primary (`@authstack/config`'s redisTarget). */
  redis: RedisTarget;
  /** WAIT for replicas after the session writes that matter (docs/security-model.md). */
  redisWait: ReplicaWaitSettings;
  redisKeyPrefix: string;
  keyEncryptionKey: Buffer;
  /** HMAC-SHA-256 key applied to passwords before bcrypt (see domain/passwords.ts). */
  passwordPepper: Buffer;
  issuer: string;
  audience: string;
  algorithm: Parsed['JWT_ALGORITHM'];
  clientId: string;
  accessTokenTtl: number;
  refreshIdleTtl: number;
  refreshAbsoluteTtl: number;
  /** Live sessions per account; a login beyond it ends the account's oldest session. */
  sessionsMaxPerUser: number;
  /** Seconds the gateway exchange serves a cookie session's minted access token again (0: off). */
  cookieTokenCache: number;
  jwksMaxAge: number;
  keyActivationDelay: number;
  keyReloadInterval: number;
  bcryptCost: number;
  /** Admission control in front of bcrypt (see domain/admission.ts). */
  admission: AdmissionSettings;
  bootstrapAdmin: { username: string; password: string } | undefined;
  /** express `trust proxy`, parsed by `@authstack/config`: false, a hop count, or addresses/CIDRs/names. */
  trustProxy: TrustProxy;
  limits: LimitSettings;
  bodyLimit: string;
  shutdownTimeout: number;
}

export function loadConfig(rawEnv: Env = process.env): Readonly<AuthConfig> {
  const e = parseEnvironment(schema, rawEnv, { fileVariables: FILE_VARIABLES });
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    dbPoolMax: e.DB_POOL_MAX,
    redis: redisTarget(e),
    redisWait: { replicas: e.REDIS_WAIT_REPLICAS, timeoutMs: e.REDIS_WAIT_TIMEOUT_MS },
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    keyEncryptionKey: e.KEY_ENCRYPTION_KEY,
    passwordPepper: e.PASSWORD_PEPPER,
    issuer: e.JWT_ISSUER.replace(/\/$/, ''),
    audience: e.JWT_AUDIENCE,
    algorithm: e.JWT_ALGORITHM,
    clientId: e.JWT_CLIENT_ID,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshIdleTtl: e.REFRESH_IDLE_TTL,
    refreshAbsoluteTtl: e.REFRESH_ABSOLUTE_TTL,
    sessionsMaxPerUser: e.SESSIONS_MAX_PER_USER,
    cookieTokenCache: e.COOKIE_TOKEN_CACHE_TTL,
    jwksMaxAge: e.JWKS_MAX_AGE,
    keyActivationDelay: e.KEY_ACTIVATION_DELAY,
    keyReloadInterval: e.KEY_RELOAD_INTERVAL,
    bcryptCost: e.BCRYPT_COST,
    admission: {
      poolSize: e.UV_THREADPOOL_SIZE,
      budgetMs: e.BCRYPT_QUEUE_BUDGET_MS,
      maxPerClient: e.BCRYPT_MAX_PER_CLIENT,
      maxPerAccount: e.BCRYPT_MAX_PER_ACCOUNT,
    },
    bootstrapAdmin:
      e.BOOTSTRAP_ADMIN_USERNAME && e.BOOTSTRAP_ADMIN_PASSWORD
        ? { username: e.BOOTSTRAP_ADMIN_USERNAME, password: e.BOOTSTRAP_ADMIN_PASSWORD }
        : undefined,
    trustProxy: e.TRUST_PROXY,
    limits: {
      pairFailures: e.LOGIN_MAX_FAILURES_PER_USER_IP,
      pairBlockSeconds: e.LOGIN_BLOCK_SECONDS,
      ipFailuresPerDay: e.LOGIN_MAX_FAILURES_PER_IP_PER_DAY,
      userFailuresPerHour: e.LOGIN_MAX_FAILURES_PER_USER_PER_HOUR,
      userSuccessesPerHour: e.LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR,
      ipSuccessesPerHour: e.LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR,
      registrationsPerHour: e.REGISTER_MAX_PER_IP_PER_HOUR,
    },
    bodyLimit: e.BODY_LIMIT,
    shutdownTimeout: e.SHUTDOWN_TIMEOUT,
  });
}
