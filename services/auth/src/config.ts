/**
 * The auth service's configuration: parsed from the environment once, validated, frozen.
 * A bad or missing value stops start-up with a message naming the variable. Secrets have no defaults and
 * may come from files (`<NAME>_FILE`, for Docker and Kubernetes secrets). Every variable is described in the schema;
 * `make config-docs` writes `.env.example` and the README's table from it.
 */
import {
  audienceSchema,
  ConfigError,
  checkInternalPort,
  checkRedis,
  type Env,
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
  resolveFileVariables,
  shutdownTimeoutSchema,
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

/** The environment's schema: names, defaults and descriptions (`make config-docs` documents it). */
export const configSchema = z
  .object({
    HOST: hostSchema,
    PORT: portSchema(3001),
    INTERNAL_PORT: internalPortSchema,
    LOG_LEVEL: logLevelSchema,
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/ })
      .default('postgres://postgres@127.0.0.1:5432/authstack')
      .describe(
        'PostgreSQL URL; `make dev` creates the database when missing. A secret when it holds a password (DATABASE_URL_FILE; the containers get it that way).',
      ),
    DB_POOL_MAX: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe(
        "PostgreSQL connections per auth process (1..100); replicas x this stays under the server's max_connections.",
      ),
    ...redisFields,
    REDIS_WAIT_REPLICAS: z.coerce
      .number()
      .int()
      .min(0)
      .max(5)
      .default(0)
      .describe(
        "Replicas (0..5) that must acknowledge a session's creation, rotation or revocation (WAIT) before the client is told; fewer in time: 503, fail closed. 0 for a single Redis; 1 with Sentinel, so a failover loses no session a client was told about (docs/security-model.md).",
      ),
    REDIS_WAIT_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(10_000)
      .default(500)
      .describe('How long (ms, 10..10000) a session write waits for REDIS_WAIT_REPLICAS.'),
    REDIS_KEY_PREFIX: redisKeyPrefixSchema,
    KEY_ENCRYPTION_KEY: z.preprocess(emptyAsUndefined, kek).meta({
      description:
        "Required secret: 32 random bytes, base64. Encrypts the signing keys' private parts (AES-256-GCM). Best as a file (`make env` writes one); or the value itself (generate: openssl rand -base64 32).",
      secretFile: 'secrets/key_encryption_key',
    }),
    PASSWORD_PEPPER: z.preprocess(emptyAsUndefined, kek).meta({
      description:
        'Required secret: 32 random bytes, base64, different from KEY_ENCRYPTION_KEY. The HMAC-SHA-256 key applied to every password before bcrypt (passwords of any length and script are never truncated; a database dump alone cannot be cracked). Changing it makes every stored password unusable.',
      secretFile: 'secrets/password_pepper',
    }),
    JWT_ISSUER: issuerSchema,
    JWT_AUDIENCE: audienceSchema,
    JWT_ALGORITHM: z
      .enum(['RS256', 'ES256'])
      .default('RS256')
      .describe('Signing algorithm of new keys: RS256 or ES256.'),
    JWT_CLIENT_ID: z
      .string()
      .min(1)
      .default('authstack-client')
      .describe('The `client_id` claim (RFC 9068) of the tokens auth issues.'),
    ACCESS_TOKEN_TTL: seconds(30, 3600, 300).describe('Access-token lifetime in seconds (30..3600).'),
    REFRESH_IDLE_TTL: seconds(1, 90 * 86400, 7 * 86400).describe(
      'Refresh idle (sliding) lifetime in seconds: a session unused this long ends.',
    ),
    REFRESH_ABSOLUTE_TTL: seconds(1, 365 * 86400, 30 * 86400).describe(
      'Refresh absolute lifetime in seconds (at least REFRESH_IDLE_TTL): a session ends this long after the login however it is used.',
    ),
    SESSIONS_MAX_PER_USER: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(50)
      .describe("Live sessions per account (1..1000); a login beyond it ends that account's oldest session."),
    COOKIE_TOKEN_CACHE_TTL: seconds(0, 3600, 30).describe(
      "Seconds the gateway's cookie-to-token exchange serves a session's minted access token again instead of signing a new one (0: sign every time; below ACCESS_TOKEN_TTL). The session is checked in Redis on every exchange either way; through the gateway, an exchange's answer is reused for at most GATEWAY_COOKIE_EXCHANGE_CACHE seconds (docs/security-model.md).",
    ),
    JWKS_MAX_AGE: seconds(0, 86400, 300).describe("The JWKS response's Cache-Control max-age, in seconds."),
    KEY_ACTIVATION_DELAY: seconds(0, 7 * 86400, 600).describe(
      'Seconds a staged signing key is published before it signs (at least JWKS_MAX_AGE, so verifiers see it first).',
    ),
    KEY_RELOAD_INTERVAL: seconds(1, 3600, 30).describe(
      'How often (s) each replica re-reads the key table to see keys staged elsewhere.',
    ),
    BCRYPT_COST: z.coerce
      .number()
      .int()
      .min(4)
      .max(16)
      .default(12)
      .describe(
        'bcrypt cost (4..16); each +1 doubles login CPU time. Hashes of a lower cost are re-hashed at the next successful login; refused logins always cost one comparison at the highest cost stored (no enumeration).',
      ),
    // libuv reads UV_THREADPOOL_SIZE itself (once, at start); auth reads it to size admission control.
    UV_THREADPOOL_SIZE: z
      .preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(1024).default(4))
      .meta({
        description:
          "libuv's thread pool, which runs the async bcrypt hashes. libuv reads it once, before node starts: the auth container's start script and `make dev` set one thread per core, at least 4, when it is unset.",
        unset: 'one thread per core, at least 4 (libuv alone: 4)',
      }),
    BCRYPT_QUEUE_BUDGET_MS: z
      .preprocess(emptyAsUndefined, z.coerce.number().int().min(10).max(60_000).optional())
      .meta({
        description:
          "Latency budget (ms, 10..60000) of admission control in front of bcrypt (login, register, password change; per auth process). Work is admitted while the admitted work and two more rounds of the workers can be served within it: capacity = floor(budget x workers / hash time) - 2 x workers, workers = min(UV_THREADPOOL_SIZE, cores), the hash time measured at start-up. Beyond it, or beyond a client address's or an account's share, 503 `overloaded` with Retry-After, before any bcrypt work and not counted as a failed attempt.",
        unset: 'two full pools (2 x pool size x hash time / workers), rounded up to whole seconds',
      }),
    BCRYPT_MAX_PER_CLIENT: z
      .preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(10_000).optional())
      .meta({
        description: 'Admitted hashing operations per client address (1..10000).',
        unset: 'a quarter of the capacity, at least 1',
      }),
    BCRYPT_MAX_PER_ACCOUNT: z
      .preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(10_000).default(2))
      .describe('Admitted hashing operations per account (1..10000).'),
    BOOTSTRAP_ADMIN_USERNAME: z
      .preprocess(emptyAsUndefined, z.string().optional())
      .describe(
        "An admin created once at start-up, with BOOTSTRAP_ADMIN_PASSWORD; there are no default credentials. A name already held by an account the bootstrap did not create stops start-up (it is never promoted); once created, the account's roles and state are the admins' (a demotion survives restarts).",
      ),
    BOOTSTRAP_ADMIN_PASSWORD: z.preprocess(emptyAsUndefined, z.string().optional()).meta({
      description:
        "The bootstrap admin's password (a secret, best as a file; `make env` writes a random one). The password policy applies.",
      secretFile: 'secrets/bootstrap_admin_password',
    }),
    TRUST_PROXY: trustProxySchema,
    LOGIN_MAX_FAILURES_PER_USER_IP: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe(
        'Consecutive failures per (username, client IP) before a block of LOGIN_BLOCK_SECONDS; a success resets it.',
      ),
    LOGIN_BLOCK_SECONDS: seconds(1, 86400, 900).describe(
      'How long (s) a (username, client IP) pair stays blocked.',
    ),
    LOGIN_MAX_FAILURES_PER_IP_PER_DAY: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(100)
      .describe('Failed logins per client IP per day, over all accounts.'),
    LOGIN_MAX_FAILURES_PER_USER_PER_HOUR: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(100)
      .describe('Failed logins per account per hour, from all IPs (NIST SP 800-63B: at most 100).'),
    LOGIN_MAX_SUCCESSES_PER_USER_PER_HOUR: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(30)
      .describe(
        'Successful logins per account per hour, from all IPs (each costs a bcrypt comparison and opens a session); over it: 429 with Retry-After.',
      ),
    LOGIN_MAX_SUCCESSES_PER_IP_PER_HOUR: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(300)
      .describe('Successful logins per client IP per hour, over all accounts.'),
    REGISTER_MAX_PER_IP_PER_HOUR: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(10)
      .describe('Registrations per client IP per hour.'),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i)
      .default('16kb')
      .describe('Largest accepted request body (b, kb or mb).'),
    SHUTDOWN_TIMEOUT: shutdownTimeoutSchema,
  })
  .superRefine((env, ctx) => {
    checkRedis(env, ctx);
    checkInternalPort(env, ctx);
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

type Parsed = z.infer<typeof configSchema>;

export interface AuthConfig {
  host: string;
  port: number;
  /** `/metrics` and the JWKS on a port of their own; unset: `/metrics` on `port`. */
  internalPort: number | undefined;
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
  const e = parseEnvironment(configSchema, rawEnv, { fileVariables: FILE_VARIABLES });
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    internalPort: e.INTERNAL_PORT,
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
