/** The Redis connection, and its one failure rule: unreachable means 503 (fail closed), never 401. */
import { serviceUnavailable } from '@authstack/http-problem';
import { Redis } from 'ioredis';

export function createRedis(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing: a login must not hang, it must answer 503.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  redis.on('error', () => {}); // reconnection is automatic; readiness reports the state
  return redis;
}

export async function withRedis<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw serviceUnavailable('redis', error);
  }
}
