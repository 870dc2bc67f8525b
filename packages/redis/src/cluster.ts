/**
 * Redis Cluster mode (`REDIS_CLUSTER_NODES`): an ioredis `Cluster` instead of a single connection.
 *
 * - The seed nodes come from `REDIS_CLUSTER_NODES` (`host:port,host:port,…`); ioredis learns the rest of the
 *   cluster (`CLUSTER SLOTS`) from whichever answers first, and follows `MOVED` and `ASK` redirections itself.
 * - The credentials and TLS come from `REDIS_URL` (its user, password, and `rediss:` for TLS; its host and port
 *   are not used), so the secret stays where it was (`REDIS_URL_FILE`). Its database must be 0: a cluster has no
 *   other.
 * - Same failure behaviour as a single Redis: no offline queue (a request answers 503 at once instead of
 *   waiting), one retry per command, reconnection in the background.
 *
 * Every multi-key operation of the services (Lua scripts, `MULTI`) names keys that share a hash tag, so one
 * slot: see docs/architecture.md ("Redis keys").
 */
import { Cluster, type Redis } from 'ioredis';
import { z } from 'zod';

export interface ClusterNode {
  host: string;
  port: number;
}

/**
 * `value` as a Redis Cluster hash tag: `{value}`, with `%`, `{` and `}` percent-encoded, so the tag is exactly
 * `value` whatever it holds (Redis hashes what is between the first `{` and the next `}`, and the whole key when
 * that is empty). Keys that share a tag share a slot. A value without those characters is left as it is.
 */
export function hashTag(value: string): string {
  return `{${value.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) || '%'}}`;
}

/**
 * Parse `REDIS_CLUSTER_NODES`: `host:port` seeds, comma-separated (IPv6 as `[::1]:7000`). Throws with the
 * problem, for the configuration schema to report.
 */
export function parseClusterNodes(value: string): ClusterNode[] {
  const nodes = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(item);
      const port = Number(match?.[3]);
      if (!match || port < 1 || port > 65_535) throw new Error(`"${item}" is not host:port`);
      return { host: (match[1] ?? match[2])!, port };
    });
  if (nodes.length === 0) throw new Error('needs at least one host:port');
  return nodes;
}

/** `REDIS_CLUSTER_NODES` as a configuration field: unset (a single Redis at `REDIS_URL`) or the seed nodes. */
export const clusterNodesSchema = z
  .string()
  .optional()
  .transform((value, ctx): ClusterNode[] | undefined => {
    if (value === undefined) return undefined;
    try {
      return parseClusterNodes(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/**
 * `REDIS_CLUSTER_NAT_MAP` as a configuration field: `announced=reachable` pairs of `host:port`, comma-separated,
 * for nodes that announce addresses the service cannot reach as they are (NAT, a port-forward, a proxy). Unset:
 * the announced addresses are used.
 */
export const clusterNatMapSchema = z
  .string()
  .optional()
  .transform((value, ctx): Record<string, ClusterNode> | undefined => {
    if (value === undefined) return undefined;
    try {
      const map: Record<string, ClusterNode> = {};
      for (const pair of value.split(',').filter((item) => item.trim() !== '')) {
        const [announced, reachable, extra] = pair.split('=');
        if (!announced || !reachable || extra !== undefined)
          throw new Error(`"${pair}" is not host:port=host:port`);
        const [from] = parseClusterNodes(announced);
        const [to] = parseClusterNodes(reachable);
        map[`${from!.host}:${from!.port}`] = to!;
      }
      return map;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** The connection settings a cluster takes from `REDIS_URL`: user, password, TLS. */
function credentialsFrom(url: string) {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && db !== '0') {
    throw new Error(`REDIS_URL selects database ${db}; a Redis Cluster has only database 0`);
  }
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: parsed.hostname } } : {}),
  };
}

export function createRedisCluster(
  url: string,
  nodes: readonly ClusterNode[],
  natMap?: Record<string, ClusterNode>,
  options: { enableAutoPipelining?: boolean } = {},
): Cluster {
  const cluster = new Cluster([...nodes], {
    ...(natMap ? { natMap } : {}),
    enableAutoPipelining: options.enableAutoPipelining === true,
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    redisOptions: {
      ...credentialsFrom(url),
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      disableClientInfo: true, // as createRedis: the ACL users are granted no CLIENT SETINFO
    },
  });
  cluster.on('error', () => {}); // reconnection is automatic; readiness reports the state
  return cluster;
}

/**
 * The primaries to visit for a command that is per node (`SCAN`, `INFO`): every primary of a cluster, or the
 * one server. `SCAN` on a `Cluster` itself would ask one node at random.
 */
export function primaries(redis: Redis | Cluster): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}
