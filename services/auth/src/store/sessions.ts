/**
 * Login sessions in Redis, under one prefix; everything of one user carries the user id as its hash tag (one
 * Redis Cluster slot):
 *
 *   session:{<uid>}:<sid>   hash: created, last_used, ip, ua, gen, rt (SHA-256 of the current refresh token), fam
 *                           (SHA-256 of the family secret), abs_exp; a cookie session also ck, at/at_until (the
 *                           minted-token cache), ck_prev/ck_prev_until (after a rotation), rot (rotate at next use).
 *                           TTL = min(idle lifetime, time left to the absolute one).
 *   user-sessions:{<uid>}   sorted set of the user's sids by creation time: the index for logout-all, password
 *                           change, disabling, the session list and the per-user cap.
 *
 * Every change is one Lua script (`session-scripts.ts`); the writes a client is told about run through
 * `evalAcknowledged` (REDIS_WAIT_REPLICAS). Why the record looks so: docs/architecture.md, "The session record".
 */

import { serviceUnavailable } from '@authstack/http-problem';
import {
  type Acknowledged,
  type RedisClient,
  sessionKeyOf,
  userSessionsKeyOf,
  withRedis,
} from '@authstack/redis';
import {
  COOKIE_CACHE,
  COOKIE_ROTATE,
  COOKIE_USE,
  CREATE,
  PRIVILEGES_CHANGED,
  REVOKE,
  REVOKE_ALL,
  ROTATE,
} from './session-scripts.ts';

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
