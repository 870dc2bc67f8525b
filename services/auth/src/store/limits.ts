/**
 * Abuse limits in Redis, so every replica shares the counters. A login reserves a point on five counters before the
 * password is checked, all or nothing per slot group (one Lua script each: the IP group `{<ip>}` first, then the
 * username group `{<username>}`, whose refusal gives the IP group's points back); the outcome then settles them
 * (`LoginAttempt`). A refusal is `LimitReached` with the wait (the use case answers 429 with Retry-After); an
 * unreachable store fails closed (503). Registration: a point per attempt per client (rate-limiter-flexible). Why it is built so, and the
 * race it leaves: docs/security-model.md, "Abuse limits".
 */

import { clientBucket } from '@authstack/config';
import { hashTag, type RedisClient, redisFailure } from '@authstack/redis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

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

/**
 * The Redis keys of the login counters. The hash tag (`{…}`, `hashTag`) is the group: every key of one script
 * shares it, so one Redis Cluster slot.
 */
export const loginPairKey = (prefix: string, username: string, ip: string) =>
  `${prefix}rl:login-pair:${hashTag(username)}|${ip}`;
export const loginIpKey = (prefix: string, ip: string) => `${prefix}rl:login-ip:${hashTag(ip)}`;
export const loginUserKey = (prefix: string, username: string) =>
  `${prefix}rl:login-user:${hashTag(username)}`;
export const loginSuccessUserKey = (prefix: string, username: string) =>
  `${prefix}rl:login-ok-user:${hashTag(username)}`;
export const loginSuccessIpKey = (prefix: string, ip: string) => `${prefix}rl:login-ok-ip:${hashTag(ip)}`;

/** One counter of a reservation: its key, limit, window and block (seconds; 0 = none). */
type Counter = [key: string, limit: number, windowSec: number, blockSec: number];

/** The login counters of an attempt, by group (each group one slot): the IP's, then the username's. */
export function loginCounters(prefix: string, settings: LimitSettings, username: string, ip: string) {
  const ipGroup: Counter[] = [
    [loginIpKey(prefix, ip), settings.ipFailuresPerDay, 86_400, 0],
    [loginSuccessIpKey(prefix, ip), settings.ipSuccessesPerHour, 3_600, 0],
  ];
  const userGroup: Counter[] = [
    [
      loginPairKey(prefix, username, ip),
      settings.pairFailures,
      settings.pairBlockSeconds,
      settings.pairBlockSeconds,
    ],
    [loginUserKey(prefix, username), settings.userFailuresPerHour, 3_600, 0],
    [loginSuccessUserKey(prefix, username), settings.userSuccessesPerHour, 3_600, 0],
  ];
  return { ipGroup, userGroup };
}

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

/** A limit is reached: the attempt is refused, and may come again after `retryAfterSec` (whole seconds, at least 1). */
export class LimitReached extends Error {
  readonly retryAfterSec: number;

  constructor(waitMs: number) {
    super('an abuse limit is reached');
    this.name = 'LimitReached';
    this.retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
  }
}

export function createLimits(redis: RedisClient, prefix: string, settings: LimitSettings) {
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

  /** One group's all-or-nothing reservation: 0 when every counter took a point, else the wait (ms). */
  const reserve = async (group: Counter[]) =>
    Number(
      await redis.eval(
        RESERVE,
        group.length,
        ...group.map(([key]) => key),
        ...group.flatMap(([, limit, windowSec, blockSec]) => [limit, windowSec * 1000, blockSec * 1000]),
      ),
    );
  const settle = (group: Counter[], actions: Settlement[]) =>
    redis.eval(SETTLE, group.length, ...group.map(([key]) => key), ...actions);

  return {
    async reserveLogin(username: string, ip: string): Promise<LoginAttempt> {
      const { ipGroup, userGroup } = loginCounters(prefix, settings, username, clientBucket(ip)); // IPv6: per /64
      let waitMs: number;
      try {
        waitMs = await reserve(ipGroup);
        if (waitMs === 0) {
          waitMs = await reserve(userGroup).catch(async (error: unknown) => {
            // The username group's answer is unknown: give the IP group's points back, as for a refusal.
            await quietly(settle(ipGroup, ['refund', 'refund']));
            throw error;
          });
          if (waitMs > 0) await settle(ipGroup, ['refund', 'refund']);
        }
      } catch (error) {
        throw redisFailure(error, 'rate limiter');
      }
      if (waitMs > 0) throw new LimitReached(waitMs);

      // [IP failures, IP successes] and [pair, username failures, username successes]
      const both = (ipActions: Settlement[], userActions: Settlement[]) =>
        quietly(Promise.all([settle(ipGroup, ipActions), settle(userGroup, userActions)]));
      return {
        succeeded: () => both(['refund', 'keep'], ['reset', 'refund', 'keep']),
        failed: () => both(['keep', 'refund'], ['keep', 'keep', 'refund']),
        release: () => both(['refund', 'refund'], ['refund', 'refund', 'refund']),
      };
    },

    async reserveRegistration(ip: string): Promise<void> {
      try {
        await registrations.consume(clientBucket(ip));
      } catch (reason) {
        if (!(reason instanceof RateLimiterRes)) throw redisFailure(reason, 'rate limiter');
        throw new LimitReached(reason.msBeforeNext);
      }
    },
  };
}

export type Limits = ReturnType<typeof createLimits>;
