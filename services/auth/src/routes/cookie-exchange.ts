/** The gateway's cookie exchange: a session cookie in, a short-lived access token of its session out. */
import { Router } from 'express';
import { type ExchangeDeps, exchangeSessionCookie } from '../domain/cookie-sessions.ts';
import { checkSameSiteRequest, readSessionCookie, sessionCookieHeader } from './session-cookie.ts';

/**
 * The cookie exchange for nginx `auth_request` (`GET /internal/session-token`; the gateway routes nothing under
 * /internal/ from outside): 204 (nothing to exchange) when the request has a Bearer
 * token (bearer wins) or no session cookie; 403 `cross_site_request` for a state-changing request from another
 * site (the original method comes in X-Original-Method; without it the request counts as state-changing);
 * 401 `invalid_session`; else 200 with `X-Session-Authorization: Bearer <access token>` for the gateway to
 * forward upstream, and `X-Session-Set-Cookie` when the cookie was rotated (the gateway adds it to the answer).
 * Never cached, except by the gateway's exchange cache (a 200 without rotation, for one window of
 * GATEWAY_COOKIE_EXCHANGE_CACHE seconds); the token is never sent to the browser.
 */
export function cookieExchangeRoute(deps: ExchangeDeps, maxAge: number): Router {
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
