/**
 * Cookie sessions: the same session record as the refresh tokens' (`store/sessions.ts`), reached by an opaque
 * cookie value (`tokens.ts`, only its SHA-256 stored). Use cases: check a cookie, exchange it for a short-lived
 * access token for the gateway to forward upstream (the cookie exchange), rotate it, and the CSRF rule.
 */
import { audit } from './audit.ts';
import type { UseCaseDeps } from './deps.ts';
import { crossSiteRequest, invalidSession } from './errors.ts';
import type { RequestMeta } from './request-meta.ts';
import { hashRefreshToken, newSessionCookie, parseSessionCookie, signAccessToken } from './tokens.ts';

export interface CookieSession {
  userId: string;
  sid: string;
  cookieHash: string;
  cachedToken: string | undefined;
  /** The account's roles changed since this cookie was made: it is to get a new value now. */
  rotate: boolean;
}

/**
 * After a rotation for a privilege change, the previous value still counts this long, so requests the browser
 * already sent with it do not fail; the first answer carries the new value.
 */
export const ROTATION_GRACE_MS = 30_000;

/** `liveSession`, else `invalid_session`. */
export async function useSessionCookie(
  deps: Pick<UseCaseDeps, 'sessions' | 'now'>,
  value: string,
): Promise<CookieSession> {
  const session = await liveSession(deps, value);
  if (!session) throw invalidSession();
  return session;
}

/** The live session a cookie value names (sliding its idle lifetime), or undefined. */
async function liveSession(
  deps: Pick<UseCaseDeps, 'sessions' | 'now'>,
  value: string,
): Promise<CookieSession | undefined> {
  const parts = parseSessionCookie(value);
  if (!parts) return undefined;
  const cookieHash = hashRefreshToken(value);
  const result = await deps.sessions.useCookie(parts.userId, parts.sessionId, cookieHash, deps.now());
  if (result.outcome !== 'ok') return undefined;
  return {
    userId: parts.userId,
    sid: parts.sessionId,
    cookieHash,
    cachedToken: result.cachedToken,
    rotate: result.rotate,
  };
}

/**
 * A cookie due for rotation (roles changed) gets its new value: returns it, or undefined when there is nothing to
 * do or a concurrent request rotated it first (that one's answer carries the new value; this one's stays valid for
 * the grace period).
 */
export async function rotateIfDue(
  deps: Pick<UseCaseDeps, 'sessions' | 'now'>,
  session: CookieSession,
): Promise<string | undefined> {
  if (!session.rotate) return undefined;
  const next = newSessionCookie({ userId: session.userId, sessionId: session.sid });
  const nextHash = hashRefreshToken(next);
  const rotated = await deps.sessions.rotateCookie(
    session.userId,
    session.sid,
    session.cookieHash,
    nextHash,
    deps.now() + ROTATION_GRACE_MS,
  );
  if (!rotated) return undefined;
  session.cookieHash = nextHash;
  session.rotate = false;
  return next;
}

/**
 * The gateway's exchange: a live cookie session for an access token of that session, with the account's
 * current username and roles. A minted token is kept in the session record for `cookieTokenCache` seconds (never
 * past its own expiry, and gone with the session), so a burst of requests costs one signature. Every exchange
 * checks the session in Redis first, cached or not: a revoked session is refused at once.
 */
export type ExchangeDeps = Pick<
  UseCaseDeps,
  'sessions' | 'users' | 'keyring' | 'tokens' | 'cookieTokenCache' | 'now' | 'observe'
>;

export async function exchangeSessionCookie(
  deps: ExchangeDeps,
  value: string,
): Promise<{ token: string; cached: boolean; newCookie?: string }> {
  const session = await liveSession(deps, value);
  if (!session) {
    deps.observe?.cookieExchange?.('invalid_session');
    throw invalidSession();
  }
  if (session.cachedToken) {
    deps.observe?.cookieExchange?.('cached');
    return { token: session.cachedToken, cached: true };
  }
  // A rotation mark comes with the cached token dropped, so it is always handled here.
  const newCookie = await rotateIfDue(deps, session);
  const user = await deps.users.findById(session.userId);
  if (!user || user.disabled) {
    await deps.sessions.revoke(session.userId, session.sid);
    deps.observe?.cookieExchange?.('invalid_session');
    throw invalidSession();
  }
  const now = deps.now();
  const token = signAccessToken(
    { userId: user.id, username: user.username, roles: user.roles, sessionId: session.sid },
    deps.keyring.signingKey(),
    deps.tokens,
    now,
  );
  const cacheMs = Math.min(deps.cookieTokenCache, deps.tokens.ttl) * 1000;
  if (cacheMs > 0) {
    // iat is whole seconds: the token expires at floor(now) + ttl. Stop serving it early enough that the gateway's
    // exchange cache, which may reuse this answer for up to its longest window (10 s, GATEWAY_COOKIE_EXCHANGE_CACHE),
    // never hands the resource an expired token: a second plus that window before expiry.
    const expiresAt = (Math.floor(now / 1000) + deps.tokens.ttl) * 1000;
    const until = Math.min(now + cacheMs, expiresAt - 11_000);
    if (until > now)
      await deps.sessions.cacheToken(session.userId, session.sid, session.cookieHash, token, until);
  }
  deps.observe?.cookieExchange?.('minted');
  return newCookie ? { token, cached: false, newCookie } : { token, cached: false };
}

/** A new cookie value for the same session; the old one stops working at once. */
export async function rotateSessionCookie(
  deps: Pick<UseCaseDeps, 'sessions'>,
  session: CookieSession,
): Promise<string> {
  const next = newSessionCookie({ userId: session.userId, sessionId: session.sid });
  if (
    !(await deps.sessions.rotateCookie(
      session.userId,
      session.sid,
      session.cookieHash,
      hashRefreshToken(next),
    ))
  )
    throw invalidSession();
  return next;
}

/** Ends the session a cookie names, if it is live (idempotent). */
export async function logoutSessionCookie(
  deps: Pick<UseCaseDeps, 'sessions' | 'events' | 'now'>,
  value: string,
  meta: RequestMeta,
): Promise<void> {
  let session: CookieSession;
  try {
    session = await useSessionCookie(deps, value);
  } catch {
    return;
  }
  if (await deps.sessions.revoke(session.userId, session.sid))
    await audit(deps, meta, {
      type: 'logout',
      userId: session.userId,
      details: { sid: session.sid, via: 'cookie' },
    });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF: a state-changing request authenticated by the cookie must not come from another site. A browser says
 * where a request comes from (`Sec-Fetch-Site`, and `Origin` on every cross-origin and every POST request);
 * `Sec-Fetch-Site` other than `same-origin` or `none`, or an `Origin` other than this site's own, is refused.
 * A client that sends neither (curl, the tutorial's Python client, the SDK) is not a browser: allowed.
 */
export function checkSameSite(request: {
  method: string;
  origin: string | undefined;
  secFetchSite: string | undefined;
  ownOrigin: string;
}): void {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return;
  const site = request.secFetchSite?.toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw crossSiteRequest();
  if (request.origin !== undefined && request.origin.toLowerCase() !== request.ownOrigin.toLowerCase())
    throw crossSiteRequest();
}
