/**
 * Where the services find Redis, one meaning in both: `REDIS_URL` alone (a single Redis), or `REDIS_SENTINELS` and
 * `REDIS_SENTINEL_MASTER` (the Sentinels that name the primary; the URL then gives only the data nodes' credentials
 * and database), with optional Sentinel credentials, or `REDIS_CLUSTER_NODES` (a Redis Cluster's seed nodes, with
 * `REDIS_CLUSTER_NAT_MAP` for announced addresses the services cannot reach; the URL gives the credentials). The fields go into each service's schema, `checkRedis` into
 * its refinement, and `redisTarget` turns the parsed values into what `@authstack/redis`'s `createRedis` takes.
 */
import { type ClusterNode, clusterNatMapSchema, clusterNodesSchema } from '@authstack/redis';
import { z } from 'zod';

/** Variables of these fields that may be given as `<NAME>_FILE`. */
export const REDIS_FILE_VARIABLES = ['REDIS_URL', 'REDIS_SENTINEL_PASSWORD'] as const;

const MAX_SENTINELS = 16;
// A name (labels of letters, digits, '-' and '_': compose service names may hold '_'), an IPv4 address, or an IPv6
// address in brackets.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?';
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])$`);

/** `host:port,host:port,...` (an IPv6 address in brackets) to addresses; undefined when malformed. */
export function parseSentinels(value: string): { host: string; port: number }[] | undefined {
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.length > MAX_SENTINELS) return undefined;
  const addresses: { host: string; port: number }[] = [];
  for (const entry of entries) {
    const match = /^(.+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || !HOST.test(match[1]!) || port < 1 || port > 65535) return undefined;
    addresses.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  const unique = new Set(addresses.map(({ host, port }) => `${host}:${port}`));
  return unique.size === addresses.length ? addresses : undefined;
}

const sentinels = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined) return undefined;
    const parsed = parseSentinels(value);
    if (!parsed) {
      ctx.addIssue({
        code: 'custom',
        message: `must be host:port[,host:port...] (at most ${MAX_SENTINELS}, no repeats), e.g. sentinel-1:26379,sentinel-2:26379`,
      });
      return z.NEVER;
    }
    return parsed;
  });

export const redisFields = {
  REDIS_URL: z
    .url({ protocol: /^rediss?$/ })
    .default('redis://127.0.0.1:6379/0')
    .describe(
      'Redis for sessions and rate limits (redis:// or rediss://). A secret when it holds a password (REDIS_URL_FILE; the containers get it that way). With Sentinels or a cluster it gives only the user, password, TLS and database.',
    ),
  REDIS_SENTINELS: sentinels.describe(
    'Redis with Sentinel (docs/operations.md): the Sentinels to ask, host:port,host:port,... (IPv6 in brackets); set with REDIS_SENTINEL_MASTER, or neither for a single Redis at REDIS_URL (its host and port are then not used; redis:// only).',
  ),
  REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be the master group name: letters, digits, . _ - (1..64)')
    .optional()
    .describe("The master group's name the Sentinels monitor."),
  REDIS_SENTINEL_USERNAME: z
    .string()
    .min(1)
    .optional()
    .describe("The Sentinels' own user, when they require one (with REDIS_SENTINEL_PASSWORD)."),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional().meta({
    description: "The Sentinels' own password, when they require one: a secret, best as a file.",
    secretFile: '',
  }),
  REDIS_CLUSTER_NODES: clusterNodesSchema.describe(
    'Redis Cluster instead of one Redis (docs/operations.md): seed nodes, host:port,host:port. The user, password and TLS still come from REDIS_URL; its host and port are then not used, and its database must be 0.',
  ),
  REDIS_CLUSTER_NAT_MAP: clusterNatMapSchema.describe(
    'Cluster nodes that announce addresses the services cannot reach (NAT, port-forwards): announced=reachable pairs of host:port, comma-separated.',
  ),
};

type RedisEnv = {
  REDIS_URL: string;
  REDIS_SENTINELS?: { host: string; port: number }[] | undefined;
  REDIS_SENTINEL_MASTER?: string | undefined;
  REDIS_SENTINEL_USERNAME?: string | undefined;
  REDIS_SENTINEL_PASSWORD?: string | undefined;
  REDIS_CLUSTER_NODES?: ClusterNode[] | undefined;
  REDIS_CLUSTER_NAT_MAP?: Record<string, ClusterNode> | undefined;
};

/** The settings that only make sense together; for the schema's `superRefine`. */
export function checkRedis(env: RedisEnv, ctx: z.RefinementCtx): void {
  const issue = (variable: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: [variable], message });
  if (env.REDIS_CLUSTER_NODES !== undefined && env.REDIS_SENTINELS !== undefined)
    issue(
      'REDIS_CLUSTER_NODES',
      'a Redis Cluster and Sentinels exclude each other: set one of REDIS_CLUSTER_NODES and REDIS_SENTINELS',
    );
  if (env.REDIS_CLUSTER_NAT_MAP !== undefined && env.REDIS_CLUSTER_NODES === undefined)
    issue('REDIS_CLUSTER_NAT_MAP', 'is for a Redis Cluster: set REDIS_CLUSTER_NODES too, or unset it');
  if (env.REDIS_SENTINELS === undefined) {
    for (const variable of [
      'REDIS_SENTINEL_MASTER',
      'REDIS_SENTINEL_USERNAME',
      'REDIS_SENTINEL_PASSWORD',
    ] as const)
      if (env[variable] !== undefined)
        issue(variable, 'is for Sentinel mode: set REDIS_SENTINELS too, or unset it');
    return;
  }
  if (env.REDIS_SENTINEL_MASTER === undefined)
    issue(
      'REDIS_SENTINEL_MASTER',
      'required with REDIS_SENTINELS (the master group name the Sentinels monitor)',
    );
  if (env.REDIS_URL.startsWith('rediss:'))
    issue('REDIS_URL', 'rediss:// (TLS) is not supported with REDIS_SENTINELS yet; use redis://');
  if (env.REDIS_SENTINEL_USERNAME !== undefined && env.REDIS_SENTINEL_PASSWORD === undefined)
    issue('REDIS_SENTINEL_PASSWORD', 'required with REDIS_SENTINEL_USERNAME');
}

/** What `createRedis` takes: the URL, and the Sentinels or the cluster's nodes when they are configured. */
export function redisTarget(env: RedisEnv) {
  return {
    url: env.REDIS_URL,
    clusterNodes: env.REDIS_CLUSTER_NODES,
    natMap: env.REDIS_CLUSTER_NAT_MAP,
    sentinel:
      env.REDIS_SENTINELS && env.REDIS_SENTINEL_MASTER
        ? {
            sentinels: env.REDIS_SENTINELS,
            master: env.REDIS_SENTINEL_MASTER,
            username: env.REDIS_SENTINEL_USERNAME,
            password: env.REDIS_SENTINEL_PASSWORD,
          }
        : undefined,
  };
}
