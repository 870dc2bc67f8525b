/**
 * Login sessions in Redis. Keys are built by the functions below, all under one prefix:
 *
 *   session:<sid>          hash: uid, created, last_used, ip, ua, rt (SHA-256 of the current refresh token),
 *                          abs_exp (ms); TTL (ms) = min(idle lifetime, time left to the absolute lifetime)
 *   refresh:<sha256>       the sid a refresh token belongs to. The current token's entry lives as long as the
 *                          session; rotated tokens' entries live until the absolute expiry, so a reused old
 *                          token is recognised as reuse (and revokes the session) rather than as unknown.
 *   user-sessions:<uid>    set of the user's sids: the index for logout-all, password change and disabling
 *
 * Every change is one Lua script or one MULTI, so a key and its TTL are always set together and concurrent
 * refreshes with one token cannot both win. (The scripts touch keys derived from values they read, so
 * they suit a single Redis or a primary with replicas, not Redis Cluster.)
 */
import type { Redis } from 'ioredis';
import { withRedis } from './redis.ts';

export interface SessionRecord {
  sid: string;
  userId: string;
  createdAt: number;
  lastUsedAt: number;
  ip: string;
  userAgent: string;
}

export interface SessionLifetimes {
  idleTtl: number;
  absoluteTtl: number;
}

export type RotateResult =
  | { outcome: 'rotated'; sid: string; userId: string }
  | { outcome: 'unknown' | 'revoked' | 'expired' }
  | { outcome: 'reuse'; sid: string; userId: string };

// KEYS[1] refresh:<presented hash>   ARGV: prefix, presented hash, new hash, now ms, idle ttl s, ip, ua
const ROTATE = `
local sid = redis.call('GET', KEYS[1])
if not sid then return {'unknown'} end
local prefix = ARGV[1]
local skey = prefix .. 'session:' .. sid
local s = redis.call('HMGET', skey, 'uid', 'rt', 'abs_exp')
if not s[1] then return {'revoked'} end
if s[2] ~= ARGV[2] then
  redis.call('DEL', skey, prefix .. 'refresh:' .. s[2])
  redis.call('SREM', prefix .. 'user-sessions:' .. s[1], sid)
  return {'reuse', sid, s[1]}
end
local now = tonumber(ARGV[4])
local left = tonumber(s[3]) - now
if left <= 0 then
  redis.call('DEL', skey, KEYS[1])
  redis.call('SREM', prefix .. 'user-sessions:' .. s[1], sid)
  return {'expired'}
end
local ttl = math.min(tonumber(ARGV[5]) * 1000, left)
redis.call('HSET', skey, 'rt', ARGV[3], 'last_used', ARGV[4], 'ip', ARGV[6], 'ua', ARGV[7])
redis.call('PEXPIRE', skey, ttl)
redis.call('SET', prefix .. 'refresh:' .. ARGV[3], sid, 'PX', ttl)
redis.call('PEXPIRE', KEYS[1], left)
return {'rotated', sid, s[1]}
`;

// KEYS[1] session:<sid>   ARGV: prefix, sid. Returns the uid of the revoked session, or false.
const REVOKE = `
local s = redis.call('HMGET', KEYS[1], 'uid', 'rt')
if not s[1] then return false end
redis.call('DEL', KEYS[1], ARGV[1] .. 'refresh:' .. s[2])
redis.call('SREM', ARGV[1] .. 'user-sessions:' .. s[1], ARGV[2])
return s[1]
`;

// KEYS[1] user-sessions:<uid>   ARGV: prefix, sid to keep ('' for none). Returns the number revoked.
const REVOKE_ALL = `
local count = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if sid ~= ARGV[2] then
    local skey = ARGV[1] .. 'session:' .. sid
    local rt = redis.call('HGET', skey, 'rt')
    if rt then
      redis.call('DEL', skey, ARGV[1] .. 'refresh:' .. rt)
      count = count + 1
    end
    redis.call('SREM', KEYS[1], sid)
  end
end
return count
`;

export interface SessionView {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  ip: string;
  userAgent: string;
}

export function createSessionStore(redis: Redis, prefix: string, lifetimes: SessionLifetimes) {
  const sessionKey = (sid: string) => `${prefix}session:${sid}`;
  const refreshKey = (hash: string) => `${prefix}refresh:${hash}`;
  const userSessionsKey = (uid: string) => `${prefix}user-sessions:${uid}`;

  return {
    /** Store a new session with the hash of its first refresh token. */
    create(session: SessionRecord, refreshHash: string): Promise<void> {
      const absoluteExpiry = session.createdAt + lifetimes.absoluteTtl * 1000;
      const ttl = Math.min(lifetimes.idleTtl, lifetimes.absoluteTtl);
      return withRedis(async () => {
        await redis
          .multi()
          .hset(sessionKey(session.sid), {
            uid: session.userId,
            created: session.createdAt,
            last_used: session.lastUsedAt,
            ip: session.ip,
            ua: session.userAgent.slice(0, 256),
            rt: refreshHash,
            abs_exp: absoluteExpiry,
          })
          .expire(sessionKey(session.sid), ttl)
          .set(refreshKey(refreshHash), session.sid, 'EX', ttl)
          .sadd(userSessionsKey(session.userId), session.sid)
          .expire(userSessionsKey(session.userId), lifetimes.absoluteTtl)
          .exec();
      });
    },

    /** Which session (and user) a refresh token points at, without changing anything. */
    peek(refreshHash: string): Promise<{ sid: string; userId: string } | undefined> {
      return withRedis(async () => {
        const sid = await redis.get(refreshKey(refreshHash));
        if (!sid) return undefined;
        const userId = await redis.hget(sessionKey(sid), 'uid');
        return userId ? { sid, userId } : undefined;
      });
    },

    /** Atomically swap the presented refresh token for a new one, or detect reuse and revoke. */
    rotate(
      presented: string,
      next: string,
      meta: { now: number; ip: string; userAgent: string },
    ): Promise<RotateResult> {
      return withRedis(async () => {
        const result = (await redis.eval(
          ROTATE,
          1,
          refreshKey(presented),
          prefix,
          presented,
          next,
          String(meta.now),
          String(lifetimes.idleTtl),
          meta.ip,
          meta.userAgent.slice(0, 256),
        )) as string[];
        const [outcome, sid, userId] = result;
        if ((outcome === 'rotated' || outcome === 'reuse') && sid && userId) return { outcome, sid, userId };
        return { outcome: outcome as 'unknown' | 'revoked' | 'expired' };
      });
    },

    /** Revoke one session; the user id it belonged to, or undefined when it was already gone. */
    revoke(sid: string): Promise<string | undefined> {
      return withRedis(async () => {
        const uid = (await redis.eval(REVOKE, 1, sessionKey(sid), prefix, sid)) as string | null;
        return uid ?? undefined;
      });
    },

    /** Revoke every session of a user except `keepSid`; the number revoked. */
    revokeAll(userId: string, keepSid?: string): Promise<number> {
      return withRedis(async () =>
        Number(await redis.eval(REVOKE_ALL, 1, userSessionsKey(userId), prefix, keepSid ?? '')),
      );
    },

    /** The user's live sessions, newest first. */
    list(userId: string): Promise<SessionView[]> {
      return withRedis(async () => {
        const sids = await redis.smembers(userSessionsKey(userId));
        if (sids.length === 0) return [];
        const pipeline = redis.pipeline();
        for (const sid of sids) pipeline.hgetall(sessionKey(sid));
        const rows = (await pipeline.exec()) ?? [];
        const sessions: SessionView[] = [];
        const stale: string[] = [];
        rows.forEach(([, value], i) => {
          const h = value as Record<string, string>;
          if (!h?.uid) stale.push(sids[i]!);
          else
            sessions.push({
              id: sids[i]!,
              createdAt: Number(h.created),
              lastUsedAt: Number(h.last_used),
              ip: h.ip ?? '',
              userAgent: h.ua ?? '',
            });
        });
        if (stale.length > 0) await redis.srem(userSessionsKey(userId), ...stale);
        return sessions.sort((a, b) => b.createdAt - a.createdAt);
      });
    },

    /** The owner of a live session, or undefined. */
    owner(sid: string): Promise<string | undefined> {
      return withRedis(async () => (await redis.hget(sessionKey(sid), 'uid')) ?? undefined);
    },

    /** Is the session still alive? One round trip. */
    isAlive(sid: string): Promise<boolean> {
      return withRedis(async () => (await redis.exists(sessionKey(sid))) === 1);
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
