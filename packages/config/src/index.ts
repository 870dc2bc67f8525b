/**
 * Configuration helpers every service uses: the environment is read once (empty values count as unset,
 * secrets may come from `<NAME>_FILE`), validated by the service's zod schema, and the first problem stops
 * start-up with a `ConfigError` naming the variable. Also the one `TRUST_PROXY` parser.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.ts';

export { clientBucket } from './client-bucket.ts';
export {
  audienceSchema,
  hostSchema,
  internalPortSchema,
  issuerSchema,
  logLevelSchema,
  portSchema,
  redisKeyPrefixSchema,
  shutdownTimeoutSchema,
} from './fields.ts';
export { formatIpv4, type ParsedIp, parseIp, unmapIpv4 } from './ip.ts';
export { checkRedis, parseSentinels, REDIS_FILE_VARIABLES, redisFields, redisTarget } from './redis.ts';
export { parseTrustProxy, TRUST_PROXY_NAMES, type TrustProxy } from './trust-proxy.ts';

export type Env = Record<string, string | undefined>;

/** A bad or missing configuration value; the message names the variable. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/**
 * For each name, `<NAME>_FILE` may be given instead of `<NAME>`: the file's content, one trailing newline
 * removed (Docker and Kubernetes secrets). Both at once is an error.
 */
export function resolveFileVariables(env: Env, names: readonly string[]): Env {
  const resolved: Env = { ...env };
  for (const name of names) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      throw new ConfigError(name, `set either ${name} or ${name}_FILE, not both`);
    }
    try {
      resolved[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new ConfigError(`${name}_FILE`, `cannot read ${file}`);
    }
  }
  return resolved;
}

/**
 * Parse `env` with `schema`: empty values count as unset (so the default applies, or "required"), the
 * `fileVariables` may come from files, and the first problem throws a `ConfigError` naming its variable.
 */
export function parseEnvironment<S extends z.ZodType>(
  schema: S,
  env: Env,
  options: { fileVariables?: readonly string[] } = {},
): z.infer<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const resolved = resolveFileVariables(present, options.fileVariables ?? []);
  const result = schema.safeParse(resolved);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  const missing = resolved[variable] === undefined && issue.code === 'invalid_type';
  throw new ConfigError(variable, missing ? 'required' : issue.message);
}

/** `TRUST_PROXY` as a schema field: default `loopback`, parsed by `parseTrustProxy`. */
export const trustProxySchema = z
  .string()
  .default('loopback')
  .describe(
    'Proxies whose X-Forwarded-For is believed, the same in auth and the resource: false (none), a hop count (1..32), or a comma-separated list of addresses, CIDR ranges and loopback, linklocal, uniquelocal. Values that trust everyone (true, *, 0.0.0.0/0, ::/0, ::ffff:0:0/96, ranges that together cover every address) stop start-up.',
  )
  .transform((value, ctx): TrustProxy => {
    try {
      return parseTrustProxy(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** The internal port cannot be the API port. */
export function checkInternalPort(
  env: { PORT: number; INTERNAL_PORT?: number | undefined },
  ctx: z.RefinementCtx,
) {
  if (env.INTERNAL_PORT !== undefined && env.INTERNAL_PORT === env.PORT) {
    ctx.addIssue({ code: 'custom', path: ['INTERNAL_PORT'], message: 'must differ from PORT' });
  }
}
