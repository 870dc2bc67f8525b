/**
 * Writes that must survive the primary's death: after the write, `WAIT <replicas> <timeout>` on the same connection
 * blocks until that many replicas have acknowledged every write this connection made, or the timeout passes. Fewer
 * acknowledgements: the write is not reported as done (503, fail closed), because a failover could lose it. With
 * `replicas` 0 (a single Redis) nothing is waited for. See docs/security-model.md, "What a Redis failover loses".
 */
import { serviceUnavailable } from '@authstack/http-problem';
import type { Cluster, Redis } from 'ioredis';

export interface ReplicaWaitSettings {
  /** Replicas that must acknowledge (0: do not wait). */
  replicas: number;
  /** How long to wait for them, milliseconds. */
  timeoutMs: number;
}

/** Thrown (as its 503 problem's cause) when too few replicas acknowledged a write in time. */
export class ReplicaAckError extends Error {
  constructor(acknowledged: number, wanted: number, timeoutMs: number) {
    super(`${acknowledged} of ${wanted} replicas acknowledged the write within ${timeoutMs} ms`);
    this.name = 'ReplicaAckError';
  }
}

/** Wraps a write: run it, then wait for the replicas; returns the write's result. */
export type Acknowledged = <T>(write: () => Promise<T>) => Promise<T>;

export function replicaWait(redis: Redis | Cluster, settings: ReplicaWaitSettings): Acknowledged {
  if (settings.replicas === 0) return (write) => write();
  return async (write) => {
    const result = await write();
    const acknowledged = await redis.wait(settings.replicas, settings.timeoutMs);
    if (acknowledged < settings.replicas) {
      throw serviceUnavailable(
        'redis replicas',
        new ReplicaAckError(acknowledged, settings.replicas, settings.timeoutMs),
      );
    }
    return result;
  };
}
