/**
 * Abuse limits, in Redis, so every replica shares the counters.
 *
 * Login: every attempt first *reserves* a point on five counters — failures per (username, IP), per IP and per
 * username, successes per username and per IP — in one Lua script that is all or nothing: when any counter is
 * at its limit the attempt is refused (`TooManyAttempts` from the domain's catalogue: 429 with Retry-After) and
 * *no* counter moves, so an IP over its own cap cannot spend a victim's per-account budget; otherwise every
 * counter takes its point. Only then is the password checked, so 50 parallel wrong attempts cannot all slip past
 * a limit of 5: exactly 5 are checked, the rest get 429.
 * The outcome then settles the points in one more script: a success keeps the success points, resets the
 * (username, IP) pair and gives the failure points back; a wrong password keeps the failure points and gives
 * the success points back; an attempt that could not be judged (database down: 503) gives every point back.
 * While a counter is over its limit even the right password gets 429.
 *
 * Counters are fixed windows: a counter's window starts with its first point; the (username, IP) counter's
 * window is restarted at LOGIN_BLOCK_SECONDS when it reaches its limit (the block).
 *
 * Registration: a point per attempt per IP (rate-limiter-flexible). A store that cannot be reached fails
 * closed: 503.
 */
import { redisFailure } from '@authstack/redis';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { clientBucket } from './client-bucket.ts';
import { TooManyAttempts } from './domain/errors.ts';

export interface LimitSettings {
  /** Consecutive failures per (username, IP) before a block. Default 5. */
  pairFailures: number;
  /** Block length after that, seconds. Default 900. */
  pairBlockSeconds: number;
  /** Failures per IP per day. Default 100. */
  ipFailuresPerDay: number;
  /** Failures per username per hour, from all IPs (NIST SP 800-63B: at most 100). Default 100. */
  userFailuresPerHour: number;
  /** Successful logins per username per hour (bounds bcrypt work and sessions per account). Default 30. */
  userSuccessesPerHour: number;
  /** Successful logins per IP per hour, over all usernames. Default 300. */
  ipSuccessesPerHour: number;
  /** Registrations per IP per hour. Default 10. */
  registrationsPerHour: number;
}

export interface LoginAttempt {
  /** The credentials were right: reset the pair, give the failure points back, keep the success points. */
  succeeded(): Promise<void>;
  /** The credentials were wrong: keep the failure points, give the success points back. */
  failed(): Promise<void>;
  /** The attempt could not be judged (a dependency failed): give every point back. */
  release(): Promise<void>;
}

/** The Redis keys of the login counters (the names rate-limiter-flexible used, so live counters carry over). */
export const loginPairKey = (prefix: string, username: string, ip: string) =>
  `${prefix}rl:login-pair:${username}|${ip}`;
export const loginIpKey = (prefix: string, ip: string) => `${prefix}rl:login-ip:${ip}`;
export const loginUserKey = (prefix: string, username: string) => `${prefix}rl:login-user:${username}`;
export const loginSuccessUserKey = (prefix: string, username: string) =>
  `${prefix}rl:login-ok-user:${username}`;
export const loginSuccessIpKey = (prefix: string, ip: string) => `${prefix}rl:login-ok-ip:${ip}`;

/**
 * All or nothing. KEYS: the counters. ARGV: per key its limit, window (ms) and block (ms, 0 = none).
 * Returns 0 when every counter took a point, else the longest wait (ms) among the counters at their limit.
 */
const RESERVE = `
local n = #KEYS
local wait = 0
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[3 * i - 2]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 1 then ttl = tonumber(ARGV[3 * i - 1]) end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i = 1, n do
  local used = redis.call('INCR', KEYS[i])
  local block = tonumber(ARGV[3 * i])
  if block > 0 and used >= tonumber(ARGV[3 * i - 2]) then
    redis.call('PEXPIRE', KEYS[i], block)
  elseif redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[3 * i - 1])
  end
end
return 0
`;

/** KEYS: the counters. ARGV: per key 'keep', 'refund' (one point back) or 'reset' (delete). */
const SETTLE = `
for i = 1, #KEYS do
  if ARGV[i] == 'reset' then
    redis.call('DEL', KEYS[i])
  elseif ARGV[i] == 'refund' then
    if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
  end
end
return 0
`;

type Settlement = 'keep' | 'refund' | 'reset';

/** The refusal, with the wait in whole seconds (at least 1) for `Retry-After`. */
const refusedFor = (waitMs: number) => new TooManyAttempts(Math.max(1, Math.ceil(waitMs / 1000)));

export function createLimits(redis: Redis, prefix: string, settings: LimitSettings) {
  const registrations = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}rl:register-ip`,
    points: settings.registrationsPerHour,
    duration: 3_600,
    rejectIfRedisNotReady: true,
  });

  const quietly = async (work: Promise<unknown>) => {
    await work.catch(() => {});
  };

  return {
    async reserveLogin(username: string, ip: string): Promise<LoginAttempt> {
      ip = clientBucket(ip); // IPv6 clients count per /64
      // Order: pair, IP failures, user failures, user successes, IP successes.
      const counters: [key: string, limit: number, windowSec: number, blockSec: number][] = [
        [
          loginPairKey(prefix, username, ip),
          settings.pairFailures,
          settings.pairBlockSeconds,
          settings.pairBlockSeconds,
        ],
        [loginIpKey(prefix, ip), settings.ipFailuresPerDay, 86_400, 0],
        [loginUserKey(prefix, username), settings.userFailuresPerHour, 3_600, 0],
        [loginSuccessUserKey(prefix, username), settings.userSuccessesPerHour, 3_600, 0],
        [loginSuccessIpKey(prefix, ip), settings.ipSuccessesPerHour, 3_600, 0],
      ];
      const keys = counters.map(([key]) => key);
      let waitMs: number;
      try {
        waitMs = Number(
          await redis.eval(
            RESERVE,
            keys.length,
            ...keys,
            ...counters.flatMap(([, limit, windowSec, blockSec]) => [
              limit,
              windowSec * 1000,
              blockSec * 1000,
            ]),
          ),
        );
      } catch (error) {
        throw redisFailure(error, 'rate limiter');
      }
      if (waitMs > 0) throw refusedFor(waitMs);

      const settle = (...actions: Settlement[]) =>
        quietly(redis.eval(SETTLE, keys.length, ...keys, ...actions));
      return {
        succeeded: () => settle('reset', 'refund', 'refund', 'keep', 'keep'),
        failed: () => settle('keep', 'keep', 'keep', 'refund', 'refund'),
        release: () => settle('refund', 'refund', 'refund', 'refund', 'refund'),
      };
    },

    async reserveRegistration(ip: string): Promise<void> {
      try {
        await registrations.consume(clientBucket(ip));
      } catch (reason) {
        if (!(reason instanceof RateLimiterRes)) throw redisFailure(reason, 'rate limiter');
        throw refusedFor(reason.msBeforeNext);
      }
    },
  };
}

export type Limits = ReturnType<typeof createLimits>;
