/**
 * The session cookie over HTTP: reading and writing the `__Host-` cookie, its CSRF rule, and the guard that
 * accepts it where a Bearer token is accepted (bearer wins). The gateway's cookie exchange is `cookie-exchange.ts`.
 */
import type { Request, RequestHandler, Response } from 'express';
import { checkSameSite, rotateIfDue, useSessionCookie } from '../domain/cookie-sessions.ts';
import type { UseCaseDeps } from '../domain/deps.ts';

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
export function bearerOrCookie(
  deps: Pick<UseCaseDeps, 'sessions' | 'now'>,
  bearer: RequestHandler,
  maxAge: number,
): RequestHandler {
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
