/**
 * Abuse limits, in Redis through rate-limiter-flexible, so every replica shares the counters.
 *
 * Login: every attempt first *reserves* a point on three counters — (username, IP), IP and username — with
 * one atomic INCR each, and only then is the password checked. So 50 parallel wrong attempts cannot all slip
 * past a limit of 5: exactly 5 are checked, the rest get 429. A success gives the points back and resets the
 * (username, IP) pair; an attempt that could not be judged (database down: 503) gives them back too; a wrong
 * password keeps them. While a counter is over its limit even the right password gets 429.
 *
 * Registration: a point per attempt per IP. A store that cannot be reached fails closed: 503.
 */
import { HttpProblem } from '@authstack/http-problem';
import { redisFailure } from '@authstack/redis';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { clientBucket } from './client-bucket.ts';

export interface LimitSettings {
  /** Consecutive failures per (username, IP) before a block. Default 5. */
  pairFailures: number;
  /** Block length after that, seconds. Default 900. */
  pairBlockSeconds: number;
  /** Failures per IP per day. Default 100. */
  ipFailuresPerDay: number;
  /** Failures per username per hour, from all IPs (NIST SP 800-63B: at most 100). Default 100. */
  userFailuresPerHour: number;
  /** Registrations per IP per hour. Default 10. */
  registrationsPerHour: number;
}

export const tooManyAttempts = (retryAfterSec: number) =>
  new HttpProblem({
    status: 429,
    code: 'too_many_attempts',
    title: 'Too many attempts',
    detail: `Too many attempts; try again in ${retryAfterSec} seconds.`,
    headers: { 'Retry-After': String(retryAfterSec) },
    extra: { retry_after: retryAfterSec },
  });

export interface LoginAttempt {
  /** The credentials were right: reset the pair, give the other points back. */
  succeeded(): Promise<void>;
  /** The attempt could not be judged (a dependency failed): give every point back. */
  release(): Promise<void>;
}

function retryAfter(rejections: unknown[]): number {
  const ms = Math.max(...rejections.map((r) => (r instanceof RateLimiterRes ? r.msBeforeNext : 0)));
  return Math.max(1, Math.ceil(ms / 1000));
}

export function createLimits(redis: Redis, prefix: string, settings: LimitSettings) {
  const limiter = (name: string, points: number, duration: number, blockDuration = 0) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}rl:${name}`,
      points,
      duration,
      blockDuration,
      rejectIfRedisNotReady: true,
    });
  const pair = limiter(
    'login-pair',
    settings.pairFailures,
    settings.pairBlockSeconds,
    settings.pairBlockSeconds,
  );
  const perIp = limiter('login-ip', settings.ipFailuresPerDay, 86_400);
  const perUser = limiter('login-user', settings.userFailuresPerHour, 3_600);
  const registrations = limiter('register-ip', settings.registrationsPerHour, 3_600);

  /** Consume on every limiter; 429 when any is over, 503 when the store fails. */
  async function consumeAll(entries: [RateLimiterRedis, string][]): Promise<void> {
    const results = await Promise.allSettled(entries.map(([l, key]) => l.consume(key)));
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (rejected.some((reason) => !(reason instanceof RateLimiterRes))) {
      throw redisFailure(
        rejected.find((reason) => !(reason instanceof RateLimiterRes)),
        'rate limiter',
      );
    }
    if (rejected.length > 0) throw tooManyAttempts(retryAfter(rejected));
  }

  const quietly = async (work: Promise<unknown>[]) => {
    await Promise.allSettled(work);
  };

  return {
    async reserveLogin(username: string, ip: string): Promise<LoginAttempt> {
      ip = clientBucket(ip); // IPv6 clients count per /64
      const pairKey = `${username}|${ip}`;
      await consumeAll([
        [pair, pairKey],
        [perIp, ip],
        [perUser, username],
      ]);
      return {
        succeeded: () => quietly([pair.delete(pairKey), perIp.reward(ip, 1), perUser.reward(username, 1)]),
        release: () => quietly([pair.reward(pairKey, 1), perIp.reward(ip, 1), perUser.reward(username, 1)]),
      };
    },

    async reserveRegistration(ip: string): Promise<void> {
      await consumeAll([[registrations, clientBucket(ip)]]);
    },
  };
}

export type Limits = ReturnType<typeof createLimits>;
