/**
 * Login sessions in Redis. Keys are built by the functions below, all under one prefix:
 *
 *   session:<sid>          hash: uid, created, last_used, ip, ua, rt (SHA-256 of the current refresh token),
 *                          abs_exp; TTL = min(idle lifetime, time left to the absolute lifetime)
 *   refresh:<sha256>       the sid a refresh token belongs to; same TTL as its session
 *   user-sessions:<uid>    set of the user's sids (the index for logout-all, password change, disable)
 *
 * A key and its TTL are always written in the same MULTI, so nothing outlives its session.
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

export function createSessionStore(redis: Redis, prefix: string, lifetimes: SessionLifetimes) {
  const sessionKey = (sid: string) => `${prefix}session:${sid}`;
  const refreshKey = (hash: string) => `${prefix}refresh:${hash}`;
  const userSessionsKey = (uid: string) => `${prefix}user-sessions:${uid}`;

  return {
    keys: { sessionKey, refreshKey, userSessionsKey },

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
