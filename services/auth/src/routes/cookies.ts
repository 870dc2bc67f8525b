/**
 * Session cookies over HTTP: reading and writing the `__Host-` cookie, the guard that accepts it where a
 * Bearer token is accepted (bearer wins), and the gateway's internal exchange (`GET /internal/session-token`,
 * reached only by nginx's `auth_request`; the gateway routes nothing under /internal/ from outside).
 */
import { type Request, type RequestHandler, type Response, Router } from 'express';
import type { AccountDeps } from '../domain/accounts.ts';
import {
  checkSameSite,
  exchangeSessionCookie,
  rotateIfDue,
  useSessionCookie,
} from '../domain/cookie-sessions.ts';

/** `__Host-`: only set with Secure, from a secure origin, without Domain, with Path=/ (RFC 6265bis). */
export const SESSION_COOKIE = '__Host-session';
const ATTRIBUTES = 'Path=/; Secure; HttpOnly; SameSite=Strict';

/** The session cookie's value, if the request carries one. */
export function readSessionCookie(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === SESSION_COOKIE) return pair.slice(at + 1).trim();
  }
  return undefined;
}

export const sessionCookieHeader = (value: string, maxAgeSeconds: number) =>
  `${SESSION_COOKIE}=${value}; ${ATTRIBUTES}; Max-Age=${maxAgeSeconds}`;

export function setSessionCookie(res: Response, value: string, maxAgeSeconds: number): void {
  res.append('Set-Cookie', sessionCookieHeader(value, maxAgeSeconds));
}

export function clearSessionCookie(res: Response): void {
  res.append('Set-Cookie', `${SESSION_COOKIE}=; ${ATTRIBUTES}; Max-Age=0`);
}

/**
 * The CSRF rule for a request authenticated by the cookie (`domain/cookie-sessions.ts`). This site's origin is
 * the scheme and host the client used: behind the gateway, X-Forwarded-Proto and X-Forwarded-Host (trusted
 * only from TRUST_PROXY addresses, like the client IP).
 */
export function checkSameSiteRequest(req: Request, method = req.method): void {
  checkSameSite({
    method,
    origin: req.get('origin'),
    secFetchSite: req.get('sec-fetch-site'),
    ownOrigin: `${req.protocol}://${req.host}`,
  });
}

/**
 * Bearer token when `Authorization` is present (verified by `bearer`), else the session cookie (its live
 * session, and the CSRF rule for state-changing methods), else `bearer` again (401 token_missing).
 * A cookie sets `res.locals.auth` to `{ sub, sid }` and `res.locals.cookieSession`; a cookie due for rotation
 * (roles changed) gets its new value in this answer.
 */
export function bearerOrCookie(deps: AccountDeps, bearer: RequestHandler, maxAge: number): RequestHandler {
  return async (req, res, next) => {
    const cookie = req.headers.authorization ? undefined : readSessionCookie(req);
    if (cookie === undefined) {
      bearer(req, res, next);
      return;
    }
    try {
      checkSameSiteRequest(req);
      const session = await useSessionCookie(deps, cookie);
      const rotated = await rotateIfDue(deps, session);
      if (rotated) setSessionCookie(res, rotated, maxAge);
      res.locals.auth = { sub: session.userId, sid: session.sid };
      res.locals.cookieSession = session;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * The phantom-token exchange for nginx `auth_request`: 204 (nothing to exchange) when the request has a Bearer
 * token (bearer wins) or no session cookie; 403 `cross_site_request` for a state-changing request from another
 * site (the original method comes in X-Original-Method; without it the request counts as state-changing);
 * 401 `invalid_session`; else 200 with `X-Session-Authorization: Bearer <access token>` for the gateway to
 * forward upstream, and `X-Session-Set-Cookie` when the cookie was rotated (the gateway adds it to the answer).
 * Never cached; the token is never sent to the browser.
 */
export function exchangeRoutes(deps: AccountDeps, maxAge: number): Router {
  const router = Router();
  router.get('/internal/session-token', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const cookie = req.headers.authorization ? undefined : readSessionCookie(req);
    if (cookie === undefined) {
      res.status(204).end();
      return;
    }
    checkSameSiteRequest(req, req.get('x-original-method') ?? 'POST');
    const { token, cached, newCookie } = await exchangeSessionCookie(deps, cookie);
    if (newCookie) res.set('X-Session-Set-Cookie', sessionCookieHeader(newCookie, maxAge));
    res
      .set('X-Session-Authorization', `Bearer ${token}`)
      .set('X-Session-Token-Cache', cached ? 'hit' : 'miss')
      .status(200)
      .end();
  });
  return router;
}
