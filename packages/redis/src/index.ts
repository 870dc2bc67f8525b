/**
 * The Redis client both services use, and the one rule for its failures: Redis that cannot be reached (or is
 * not serving yet: loading, failing over) is a 503 (fail closed, never 401); a command or script that Redis
 * refuses (a wrong type, a script error, an unknown command) is a bug in this code: it passes through, is
 * logged at error and answers a generic 500.
 */
import { hasConnectionErrorCode, serviceUnavailable } from '@authstack/http-problem';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { type ClusterNode, createRedisCluster } from './cluster.ts';
import { type SentinelSettings, sentinelOptions } from './sentinel.ts';

export {
  type ClusterNode,
  clusterNatMapSchema,
  clusterNodesSchema,
  hashTag,
  parseClusterNodes,
  primaries,
} from './cluster.ts';
export { type Acknowledged, ReplicaAckError, type ReplicaWaitSettings, replicaWait } from './replicas.ts';
export { type SentinelAddress, type SentinelSettings, sentinelOptions } from './sentinel.ts';
export { sessionKeyOf, userSessionsKeyOf } from './session-keys.ts';

/** A single Redis (direct or through Sentinel) or a Redis Cluster: the services use only what both do the same way. */
export type RedisClient = Redis | Cluster;

/**
 * Where a service finds Redis: `url` (`REDIS_URL`) alone, a single Redis; with `sentinel` (`REDIS_SENTINELS`), the
 * primary the Sentinels name, the URL giving only the data nodes' credentials and database; with `clusterNodes`
 * (`REDIS_CLUSTER_NODES`), a Redis Cluster, its nodes' announced addresses mapped by `natMap`
 * (`REDIS_CLUSTER_NAT_MAP`). Sentinel and Cluster exclude each other (`@authstack/config` refuses both).
 */
export interface RedisTarget {
  url: string;
  sentinel?: SentinelSettings | undefined;
  clusterNodes?: readonly ClusterNode[] | undefined;
  natMap?: Record<string, ClusterNode> | undefined;
}

export interface ClientOptions {
  /**
   * ioredis auto-pipelining: the commands issued while the event loop runs one turn go out as one pipeline (one
   * write, one read); commands issued while it is in flight wait for it. Each command keeps its own reply and
   * error. For a client whose every request sends a command (the session-mode resource's EXISTS).
   */
  autoPipelining?: boolean;
}

export function createRedis(target: string | RedisTarget, clientOptions: ClientOptions = {}): RedisClient {
  const { url, sentinel, clusterNodes, natMap } = typeof target === 'string' ? { url: target } : target;
  const enableAutoPipelining = clientOptions.autoPipelining === true;
  if (clusterNodes?.length) return createRedisCluster(url, clusterNodes, natMap, { enableAutoPipelining });
  const options: RedisOptions = {
    enableAutoPipelining,
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing: a login must not hang, it must answer 503.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    // No CLIENT SETINFO on connect: each service's Redis user is granted only the commands it uses
    // (infra/redis/service-users.acl), and a library tag is not one of them.
    disableClientInfo: true,
  };
  const redis = sentinel
    ? new Redis({ ...options, ...sentinelOptions(url, sentinel) })
    : new Redis(url, options);
  redis.on('error', () => {}); // reconnection is automatic; readiness reports the state
  return redis;
}

/** Replies that mean "this server cannot serve now", not "this command is wrong". */
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|OOM) /;

/** ioredis's own messages for a connection that is closed, not ready, or gave up retrying. */
const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request|Command timed out|connect ETIMEDOUT|connection is not ready/i;

/**
 * A cluster's own: no node answers, the slot map cannot be refreshed, a node is gone, or the redirections ran out
 * (slots moving during a resharding or a failover: each redirection ended in `MOVED`, `ASK`, `TRYAGAIN` or
 * `CLUSTERDOWN`).
 */
const CLUSTER_MESSAGES =
  /None of startup nodes is available|Failed to refresh slots cache|Cluster is disconnected|Cluster is disconnecting|Node is disconnected|Too many Cluster redirections/i;

/** Is this "cannot use Redis now" (503), as opposed to a refused command or a bug of ours (500)? */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return UNAVAILABLE_REPLIES.test(error.message);
  if (hasConnectionErrorCode(error)) return true;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    error.name === 'ClusterAllFailedError' ||
    CONNECTION_MESSAGES.test(error.message) ||
    CLUSTER_MESSAGES.test(error.message)
  );
}

/** The error to throw for a Redis failure: a 503 problem when Redis is unavailable, else the error itself. */
export function redisFailure(error: unknown, dependency = 'redis'): unknown {
  return isRedisUnavailable(error) ? serviceUnavailable(dependency, error) : error;
}

/** Run Redis work; unavailability becomes a 503 problem, everything else passes through. */
export async function withRedis<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw redisFailure(error);
  }
}
