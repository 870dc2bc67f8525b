/**
 * Login sessions in Redis. Keys are built by the functions below, all under one prefix, and everything of
 * one user carries the user id as its hash tag, so it lives in one Redis Cluster slot:
 *
 *   session:{<uid>}:<sid>   hash: created, last_used, ip, ua, gen (the current refresh token's generation),
 *                           rt (SHA-256 of the current refresh token), fam (SHA-256 of the session's family
 *                           secret), abs_exp (ms). TTL (ms) = min(idle lifetime, time left to the absolute one).
 *                           A cookie session (`routes/cookies.ts`) also has ck (SHA-256 of the cookie value) and,
 *                           while the gateway's minted-token cache holds one, at (an access token for the gateway
 *                           to forward) and at_until (ms, when it stops being served); after a rotation ck_prev and
 *                           ck_prev_until (the previous cookie's hash, and until when it still counts); rot = 1 when
 *                           the account's roles changed and the cookie is to be rotated at its next use.
 *   user-sessions:{<uid>}   sorted set of the user's sids, scored by creation time (ms): the index for
 *                           logout-all, password change, disabling, the session list and the per-user cap.
 *                           Deleted with the user's last session; its TTL is kept at least as long as
 *                           every session's, so it expires by itself no later than an idle lifetime after
 *                           the user's last session did.
 *
 * A refresh token names its user, session and generation (`domain/tokens.ts`), so there is no key per token:
 * a session costs the same whatever the number of refreshes, and revoking it deletes its one key (and its
 * index entry). A rotated token is recognised as reuse by its family secret, without remembering it.
 *
 * Every change is one Lua script, so a key and its TTL are always set together and concurrent refreshes with
 * one token cannot both win. Every key a script touches is in its KEYS, never built inside the script (Redis
 * Cluster routes a script by its KEYS). The scripts that touch all of a user's sessions (creating one, which
 * prunes and evicts; revoking all; a privilege change) are given the index as the caller read it: its sids in
 * ARGV and their session keys in KEYS. The script first checks that the index still holds exactly those sids;
 * when it changed meanwhile (a concurrent login or logout of the same user), nothing is done and the caller reads
 * the index again (`overIndex`). So each stays one atomic step. See docs/security-model.md.
 *
 * The writes a client is told about (a session created, a refresh token rotated, sessions revoked, a cookie
 * rotated, a role change marked) run through `evalAcknowledged`: with REDIS_WAIT_REPLICAS set, they are reported only
 * once replicas hold them, so a failover cannot lose them (docs/security-model.md, "What a Redis failover loses").
 */

import { serviceUnavailable } from '@authstack/http-problem';
import { type Acknowledged, sessionKeyOf, userSessionsKeyOf } from '@authstack/redis';
import { type RedisClient, withRedis } from './redis.ts';

export interface SessionRecord {
  sid: string;
  userId: string;
  createdAt: number;
  ip: string;
  userAgent: string;
}

export interface SessionSettings {
  /** Idle lifetime, seconds (sliding). */
  idleTtl: number;
  /** Absolute lifetime from login, seconds. */
  absoluteTtl: number;
  /** Live sessions per user; a login beyond it ends the oldest. */
  maxPerUser: number;
}

/** What a presented refresh token says and what the session stores of it. */
export interface PresentedToken {
  userId: string;
  sid: string;
  /** SHA-256 of the whole token. */
  tokenHash: string;
  /** SHA-256 of the token's family secret. */
  familyHash: string;
}

export type RotateResult =
  | { outcome: 'rotated'; generation: number }
  | { outcome: 'unknown' | 'expired' }
  | { outcome: 'reuse'; currentGeneration: number };

// Removes ARGV[1] from the index KEYS[2], and the index once empty.
const DROP_FROM_INDEX = `
local function drop(index, sid)
  redis.call('ZREM', index, sid)
  if redis.call('ZCARD', index) == 0 then redis.call('DEL', index) end
end
`;

// Is the index KEYS[index] still exactly the sids ARGV[first + 1 .. first + count], in order (as the caller read it)?
const INDEX_IS = `
local function index_is(index, first, count)
  local sids = redis.call('ZRANGE', index, 0, -1)
  if #sids ~= count then return false end
  for i = 1, count do
    if sids[i] ~= ARGV[first + i] then return false end
  end
  return true
end
`;

// KEYS[1] session, KEYS[2] index, KEYS[2 + i] the session key of ARGV[11 + i]. ARGV: sid, created ms, ip, ua,
// generation, token hash, family hash, absolute expiry ms, ttl ms, max sessions, cookie hash ('' for none), then
// the sids of the index as read. Returns {'stale'} when the index changed, else {'ok', evicted sids, oldest first}.
const CREATE = `${INDEX_IS}
local listed = #KEYS - 2
if not index_is(KEYS[2], 11, listed) then return {'stale'} end
local live = {}
for i = 1, listed do
  if redis.call('EXISTS', KEYS[2 + i]) == 1 then
    live[#live + 1] = i
  else
    redis.call('ZREM', KEYS[2], ARGV[11 + i])
  end
end
local result = {'ok'}
for j = 1, #live - tonumber(ARGV[10]) + 1 do
  local i = live[j]
  redis.call('DEL', KEYS[2 + i])
  redis.call('ZREM', KEYS[2], ARGV[11 + i])
  result[#result + 1] = ARGV[11 + i]
end
redis.call('HSET', KEYS[1], 'created', ARGV[2], 'last_used', ARGV[2], 'ip', ARGV[3], 'ua', ARGV[4],
  'gen', ARGV[5], 'rt', ARGV[6], 'fam', ARGV[7], 'abs_exp', ARGV[8])
if ARGV[11] ~= '' then redis.call('HSET', KEYS[1], 'ck', ARGV[11]) end
redis.call('PEXPIRE', KEYS[1], ARGV[9])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[9]) then redis.call('PEXPIRE', KEYS[2], ARGV[9]) end
return result
`;

// KEYS[1] session, KEYS[2] index. ARGV: sid, presented token hash, family hash, next token hash, now ms,
// idle ttl ms, ip, ua.
const ROTATE = `${DROP_FROM_INDEX}
local s = redis.call('HMGET', KEYS[1], 'rt', 'fam', 'gen', 'abs_exp')
if not s[1] or s[2] ~= ARGV[3] then return {'unknown'} end
if s[1] ~= ARGV[2] then
  redis.call('DEL', KEYS[1])
  drop(KEYS[2], ARGV[1])
  return {'reuse', s[3]}
end
local now = tonumber(ARGV[5])
local left = tonumber(s[4]) - now
if left <= 0 then
  redis.call('DEL', KEYS[1])
  drop(KEYS[2], ARGV[1])
  return {'expired'}
end
local gen = tostring(tonumber(s[3]) + 1)
local ttl = math.min(tonumber(ARGV[6]), left)
redis.call('HSET', KEYS[1], 'rt', ARGV[4], 'gen', gen, 'last_used', ARGV[5], 'ip', ARGV[7], 'ua', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return {'rotated', gen}
`;

// KEYS[1] session, KEYS[2] index. ARGV: sid. Returns 1 when the session was live.
const REVOKE = `${DROP_FROM_INDEX}
local n = redis.call('DEL', KEYS[1])
drop(KEYS[2], ARGV[1])
return n
`;

// KEYS[1] index, KEYS[1 + i] the session key of ARGV[1 + i]. ARGV: sid to keep ('' for none), then the sids of the
// index as read. Returns the number revoked, or -1 when the index changed.
const REVOKE_ALL = `${INDEX_IS}
local listed = #KEYS - 1
if not index_is(KEYS[1], 1, listed) then return -1 end
local count = 0
for i = 1, listed do
  if ARGV[1 + i] ~= ARGV[1] then
    count = count + redis.call('DEL', KEYS[1 + i])
    redis.call('ZREM', KEYS[1], ARGV[1 + i])
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return count
`;

// KEYS[1] session, KEYS[2] index. ARGV: sid, cookie hash, now ms, idle ttl ms. Checks a cookie (the current one,
// or the one before it during its short grace after a rotation) and slides the session's idle lifetime. Returns
// {'ok', cached token or '', '1' when the current cookie is due for rotation else '0'}, or {'unknown'} / {'expired'}.
const COOKIE_USE = `${DROP_FROM_INDEX}
local s = redis.call('HMGET', KEYS[1], 'ck', 'abs_exp', 'at', 'at_until', 'rot', 'ck_prev', 'ck_prev_until')
local now = tonumber(ARGV[3])
local current = s[1] and s[1] == ARGV[2]
local previous = s[6] and s[6] == ARGV[2] and tonumber(s[7]) > now
if not current and not previous then return {'unknown'} end
local left = tonumber(s[2]) - now
if left <= 0 then
  redis.call('DEL', KEYS[1])
  drop(KEYS[2], ARGV[1])
  return {'expired'}
end
local ttl = math.min(tonumber(ARGV[4]), left)
redis.call('HSET', KEYS[1], 'last_used', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
local rotate = '0'
if current and s[5] == '1' then rotate = '1' end
if s[3] and tonumber(s[4]) > now then return {'ok', s[3], rotate} end
return {'ok', '', rotate}
`;

// KEYS[1] session. ARGV: cookie hash, token, serve-until ms. Caches a minted token while the cookie is current
// and not marked for rotation (roles changed while the token was being minted: it may carry the old ones).
const COOKIE_CACHE = `
local s = redis.call('HMGET', KEYS[1], 'ck', 'rot')
if s[1] ~= ARGV[1] or s[2] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'at', ARGV[2], 'at_until', ARGV[3])
return 1
`;

// KEYS[1] session. ARGV: current cookie hash, next cookie hash, ms until which the current one still counts
// (0: not at all). A new cookie value; the cached token and the rotation mark go too.
const COOKIE_ROTATE = `
if redis.call('HGET', KEYS[1], 'ck') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'ck', ARGV[2], 'ck_prev', ARGV[1], 'ck_prev_until', ARGV[3])
redis.call('HDEL', KEYS[1], 'at', 'at_until', 'rot')
return 1
`;

// KEYS[1] index, KEYS[1 + i] the session key of ARGV[i]. ARGV: the sids of the index as read. The user's
// privileges changed: drops the cached minted tokens of every session of the user, and marks each cookie
// session's cookie for rotation at its next use. Returns 1, or 0 when the index changed.
const PRIVILEGES_CHANGED = `${INDEX_IS}
if not index_is(KEYS[1], 0, #KEYS - 1) then return 0 end
for i = 2, #KEYS do
  redis.call('HDEL', KEYS[i], 'at', 'at_until')
  if redis.call('HEXISTS', KEYS[i], 'ck') == 1 then redis.call('HSET', KEYS[i], 'rot', '1') end
end
return 1
`;

/** Attempts of a script over a user's index (`overIndex`) before giving up with a 503. */
const INDEX_ATTEMPTS = 20;

export interface SessionView {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  ip: string;
  userAgent: string;
  /** Opened with a session cookie. */
  cookie: boolean;
}

export type CookieUse =
  | { outcome: 'ok'; cachedToken: string | undefined; rotate: boolean }
  | { outcome: 'unknown' | 'expired' };

export function createSessionStore(
  redis: RedisClient,
  prefix: string,
  settings: SessionSettings,
  acknowledged: Acknowledged = (write) => write(),
) {
  const evalAcknowledged = (script: string, keys: number, ...args: string[]) =>
    acknowledged(() => redis.eval(script, keys, ...args));
  const sessionKey = (uid: string, sid: string) => sessionKeyOf(prefix, uid, sid);
  const userSessionsKey = (uid: string) => userSessionsKeyOf(prefix, uid);
  const userAgent = (ua: string) => ua.slice(0, 256);

  /**
   * Run `script` over the user's index as it is now: `script(sids, sessionKeys)` answers `undefined` when the
   * index changed between the read and the script (a concurrent login or logout of the user); then again.
   */
  const overIndex = async <T>(
    userId: string,
    script: (sids: string[], keys: string[]) => Promise<T | undefined>,
  ): Promise<T> => {
    for (let attempt = 0; attempt < INDEX_ATTEMPTS; attempt++) {
      const sids = await redis.zrange(userSessionsKey(userId), '0', '-1');
      const result = await script(
        sids,
        sids.map((sid) => sessionKey(userId, sid)),
      );
      if (result !== undefined) return result;
    }
    throw serviceUnavailable('redis', new Error('a session index changed on every attempt'));
  };

  return {
    /**
     * Store a new session with the hashes of its first refresh token and of its family secret. When the user
     * already has `maxPerUser` live sessions, the oldest end in the same step; their ids are returned.
     */
    create(
      session: SessionRecord,
      token: { generation: number; tokenHash: string; familyHash: string },
      /** SHA-256 of the session cookie's value, for a cookie session. */
      cookieHash?: string,
    ): Promise<string[]> {
      const absoluteExpiry = session.createdAt + settings.absoluteTtl * 1000;
      const ttl = Math.min(settings.idleTtl, settings.absoluteTtl) * 1000;
      return withRedis(() =>
        overIndex(session.userId, async (sids, keys) => {
          const [outcome, ...evicted] = (await evalAcknowledged(
            CREATE,
            2 + keys.length,
            sessionKey(session.userId, session.sid),
            userSessionsKey(session.userId),
            ...keys,
            session.sid,
            String(session.createdAt),
            session.ip,
            userAgent(session.userAgent),
            String(token.generation),
            token.tokenHash,
            token.familyHash,
            String(absoluteExpiry),
            String(ttl),
            String(settings.maxPerUser),
            cookieHash ?? '',
            ...sids,
          )) as string[];
          return outcome === 'ok' ? evicted : undefined;
        }),
      );
    },

    /** Is this a live session, and does the token carry its family secret? Changes nothing. */
    peek(userId: string, sid: string, familyHash: string): Promise<boolean> {
      return withRedis(async () => (await redis.hget(sessionKey(userId, sid), 'fam')) === familyHash);
    },

    /**
     * Atomically swap the presented refresh token for the next one. A token of the session that is not its
     * current one is reuse: the session is revoked. A token without the session's family secret changes nothing.
     */
    rotate(
      presented: PresentedToken,
      nextHash: string,
      meta: { now: number; ip: string; userAgent: string },
    ): Promise<RotateResult> {
      return withRedis(async () => {
        const [outcome, generation] = (await evalAcknowledged(
          ROTATE,
          2,
          sessionKey(presented.userId, presented.sid),
          userSessionsKey(presented.userId),
          presented.sid,
          presented.tokenHash,
          presented.familyHash,
          nextHash,
          String(meta.now),
          String(settings.idleTtl * 1000),
          meta.ip,
          userAgent(meta.userAgent),
        )) as string[];
        if (outcome === 'rotated') return { outcome, generation: Number(generation) };
        if (outcome === 'reuse') return { outcome, currentGeneration: Number(generation) };
        return { outcome: outcome as 'unknown' | 'expired' };
      });
    },

    /** Revoke one of the user's sessions; false when it was already gone (or is not theirs). */
    revoke(userId: string, sid: string): Promise<boolean> {
      return withRedis(
        async () =>
          (await evalAcknowledged(REVOKE, 2, sessionKey(userId, sid), userSessionsKey(userId), sid)) === 1,
      );
    },

    /** Revoke every session of a user except `keepSid`; the number revoked. */
    revokeAll(userId: string, keepSid?: string): Promise<number> {
      return withRedis(() =>
        overIndex(userId, async (sids, keys) => {
          const revoked = Number(
            await evalAcknowledged(
              REVOKE_ALL,
              1 + keys.length,
              userSessionsKey(userId),
              ...keys,
              keepSid ?? '',
              ...sids,
            ),
          );
          return revoked >= 0 ? revoked : undefined;
        }),
      );
    },

    /** The user's live sessions, newest first. */
    list(userId: string): Promise<SessionView[]> {
      return withRedis(async () => {
        const sids = await redis.zrange(userSessionsKey(userId), '0', '-1');
        if (sids.length === 0) return [];
        const pipeline = redis.pipeline();
        for (const sid of sids)
          pipeline.hmget(sessionKey(userId, sid), 'created', 'last_used', 'ip', 'ua', 'ck');
        const rows = (await pipeline.exec()) ?? [];
        const sessions: SessionView[] = [];
        const stale: string[] = [];
        rows.forEach(([, value], i) => {
          const [created, lastUsed, ip, ua, ck] = value as (string | null)[];
          if (!created) stale.push(sids[i]!);
          else
            sessions.push({
              id: sids[i]!,
              createdAt: Number(created),
              lastUsedAt: Number(lastUsed),
              ip: ip ?? '',
              userAgent: ua ?? '',
              cookie: Boolean(ck),
            });
        });
        if (stale.length > 0) await redis.zrem(userSessionsKey(userId), ...stale);
        return sessions.sort((a, b) => b.createdAt - a.createdAt);
      });
    },

    /**
     * A request with the session's cookie: is it the session's current cookie, within the absolute lifetime?
     * Slides the idle lifetime, and returns the cached minted token, if one is still to be served.
     */
    useCookie(userId: string, sid: string, cookieHash: string, now: number): Promise<CookieUse> {
      return withRedis(async () => {
        const [outcome, token, rotate] = (await redis.eval(
          COOKIE_USE,
          2,
          sessionKey(userId, sid),
          userSessionsKey(userId),
          sid,
          cookieHash,
          String(now),
          String(settings.idleTtl * 1000),
        )) as string[];
        if (outcome === 'ok') return { outcome, cachedToken: token || undefined, rotate: rotate === '1' };
        return { outcome: outcome as 'unknown' | 'expired' };
      });
    },

    /** Keep a minted token for the session until `until` (ms), unless its cookie changed meanwhile. */
    cacheToken(userId: string, sid: string, cookieHash: string, token: string, until: number): Promise<void> {
      return withRedis(async () => {
        await redis.eval(COOKIE_CACHE, 1, sessionKey(userId, sid), cookieHash, token, String(until));
      });
    },

    /**
     * Swap the session's cookie for a new one (and drop its cached token); false when it was not current. The old
     * value keeps working until `previousUntil` (ms; 0 for not at all), for requests already under way.
     */
    rotateCookie(
      userId: string,
      sid: string,
      currentHash: string,
      nextHash: string,
      previousUntil = 0,
    ): Promise<boolean> {
      return withRedis(
        async () =>
          (await evalAcknowledged(
            COOKIE_ROTATE,
            1,
            sessionKey(userId, sid),
            currentHash,
            nextHash,
            String(previousUntil),
          )) === 1,
      );
    },

    /**
     * The user's roles changed: drop the cached minted tokens of every session of the user and mark each cookie
     * for rotation at its next use.
     */
    privilegesChanged(userId: string): Promise<void> {
      return withRedis(() =>
        overIndex(userId, async (sids, keys) =>
          (await evalAcknowledged(
            PRIVILEGES_CHANGED,
            1 + keys.length,
            userSessionsKey(userId),
            ...keys,
            ...sids,
          )) === 1
            ? true
            : undefined,
        ).then(() => {}),
      );
    },

    /** Is the session still alive? One round trip. */
    isAlive(userId: string, sid: string): Promise<boolean> {
      return withRedis(async () => (await redis.exists(sessionKey(userId, sid))) === 1);
    },

    async ping(): Promise<boolean> {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
