/**
 * The Redis client both services use, and the one rule for its failures: Redis that cannot be reached (or is
 * not serving yet: loading, failing over) is a 503 (fail closed, never 401); a command or script that Redis
 * refuses (a wrong type, a script error, an unknown command) is a bug in this code: it passes through, is
 * logged at error and answers a generic 500.
 */
import { serviceUnavailable } from '@authstack/http-problem';
import { Redis, type RedisOptions } from 'ioredis';
import { type RedisTarget, sentinelOptions } from './sentinel.ts';

export { type Acknowledged, ReplicaAckError, type ReplicaWaitSettings, replicaWait } from './replicas.ts';
export {
  type RedisTarget,
  type SentinelAddress,
  type SentinelSettings,
  sentinelOptions,
} from './sentinel.ts';

/** A client for one Redis URL, or for the primary that Sentinels name (`target.sentinel`). */
export function createRedis(target: string | RedisTarget): Redis {
  const { url, sentinel } = typeof target === 'string' ? { url: target, sentinel: undefined } : target;
  const options: RedisOptions = {
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing: a login must not hang, it must answer 503.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  };
  const redis = sentinel
    ? new Redis({ ...options, ...sentinelOptions(url, sentinel) })
    : new Redis(url, options);
  redis.on('error', () => {}); // reconnection is automatic; readiness reports the state
  return redis;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Replies that mean "this server cannot serve now", not "this command is wrong". */
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|OOM) /;

/** ioredis's own messages for a connection that is closed, not ready, or gave up retrying. */
const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request|Command timed out|connect ETIMEDOUT|connection is not ready/i;

/** Is this "cannot use Redis now" (503), as opposed to a refused command or a bug of ours (500)? */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return UNAVAILABLE_REPLIES.test(error.message);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return error.name === 'MaxRetriesPerRequestError' || CONNECTION_MESSAGES.test(error.message);
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
