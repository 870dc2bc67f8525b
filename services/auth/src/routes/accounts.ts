/** Thin routes: validate the body into plain data, call a use case, write the response. */
import {
  Credentials,
  LoginQuery,
  PasswordChangeRequest,
  RefreshRequest,
  SessionIdParam,
} from '@authstack/contract';
import { type AccessTokenClaims, VerifyError } from '@authstack/verifier';
import { type Request, type RequestHandler, type Response, Router } from 'express';
import { currentAccount, login, register } from '../domain/accounts.ts';
import { type CookieSession, logoutSessionCookie, rotateSessionCookie } from '../domain/cookie-sessions.ts';
import type { UseCaseDeps } from '../domain/deps.ts';
import { sessionNotFound } from '../domain/errors.ts';
import { requestMeta } from '../domain/request-meta.ts';
import {
  changePassword,
  listSessions,
  logout,
  logoutAll,
  refresh,
  revokeOwnSession,
} from '../domain/sessions.ts';
import { type IssuedTokens, parseSessionCookie } from '../domain/tokens.ts';
import {
  checkSameSiteRequest,
  clearSessionCookie,
  readSessionCookie,
  setSessionCookie,
} from './session-cookie.ts';
import { parse } from './validation.ts';

const credentials = Credentials;
const refreshBody = RefreshRequest;
const passwordBody = PasswordChangeRequest;
const sessionId = SessionIdParam.shape.id;

const CREDENTIALS_HINT = 'Send a JSON object with string fields "username" and "password".';

const claimsOf = (res: Response) => res.locals.auth as AccessTokenClaims;

const welcome = (username: string) => `Welcome ${username}!`;

function sendTokens(res: Response, issued: IssuedTokens): void {
  res.set('Cache-Control', 'no-store').json({
    status: 'success',
    message: welcome(issued.user.username),
    token: issued.accessToken,
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    refresh_token: issued.refreshToken,
    refresh_expires_in: issued.refreshExpiresIn,
    user: issued.user,
  });
}

export interface BearerGuards {
  /** Verified token whose session is alive. */
  session: RequestHandler;
  /** `session`, or else the session cookie (`routes/session-cookie.ts`). */
  sessionOrCookie: RequestHandler;
  /** Verified token; the session may already be gone (for idempotent logout). */
  token: RequestHandler;
}

/** `?session=cookie` opens a cookie session too; `?session=bearer` (or nothing) does not. */
function wantsCookie(req: Request): boolean {
  return (
    parse(LoginQuery, req.query, 'The "session" query parameter is "cookie" or "bearer".').session ===
    'cookie'
  );
}

export function accountRoutes(deps: UseCaseDeps, bearer: BearerGuards, cookies: { maxAge: number }): Router {
  const router = Router();

  router.post('/register', async (req, res) => {
    const user = await register(deps, parse(credentials, req.body, CREDENTIALS_HINT), requestMeta(req));
    res.status(201).json({ status: 'success', message: 'User registered successfully', user });
  });

  // The tutorial's /login alias always asks for a cookie (the gateway adds ?session=cookie). A cookie login answers
  // the account only: the session is in the HttpOnly cookie, and no token in the body is there for a script to take.
  router.post('/login', async (req, res) => {
    const cookie = wantsCookie(req);
    // Login CSRF (another site logging the browser into the attacker's account): the same origin rule.
    if (cookie) checkSameSiteRequest(req);
    const input = parse(credentials, req.body, CREDENTIALS_HINT);
    const issued = await login(deps, input, requestMeta(req), { cookie });
    if (issued.sessionCookie) {
      // The browser's previous cookie session (if any) ends: one browser, one cookie session.
      const previous = readSessionCookie(req);
      if (previous !== undefined && parseSessionCookie(previous))
        await logoutSessionCookie(deps, previous, requestMeta(req));
      setSessionCookie(res, issued.sessionCookie, cookies.maxAge);
      res
        .set('Cache-Control', 'no-store')
        .json({ status: 'success', message: welcome(issued.user.username), user: issued.user });
      return;
    }
    sendTokens(res, issued);
  });

  router.post('/refresh', async (req, res) => {
    const { refresh_token } = parse(
      refreshBody,
      req.body,
      'Send a JSON object with a string "refresh_token".',
    );
    sendTokens(res, await refresh(deps, refresh_token, requestMeta(req)));
  });

  // Bearer access token (its session), else the session cookie (that session; the cookie is cleared), else
  // {refresh_token}. Idempotent: an already-ended session answers 200.
  router.post(
    '/logout',
    (req, res, next) => (req.headers.authorization ? bearer.token(req, res, next) : next()),
    async (req, res) => {
      const cookie = readSessionCookie(req);
      if (res.locals.auth) {
        const { sub, sid } = claimsOf(res);
        await logout(deps, { userId: sub, sid }, requestMeta(req));
        if (cookie !== undefined && parseSessionCookie(cookie)?.sessionId === sid) clearSessionCookie(res);
      } else if (cookie !== undefined) {
        checkSameSiteRequest(req);
        await logoutSessionCookie(deps, cookie, requestMeta(req));
        clearSessionCookie(res);
      } else {
        const body = refreshBody.safeParse(req.body);
        if (!body.success) {
          res.setHeader('WWW-Authenticate', 'Bearer realm="authstack"');
          throw new VerifyError('token_missing');
        }
        await logout(deps, { refreshToken: body.data.refresh_token }, requestMeta(req));
      }
      res.set('Cache-Control', 'no-store').json({ status: 'success', message: 'Logged out' });
    },
  );

  router.post('/logout-all', bearer.sessionOrCookie, async (req, res) => {
    const revoked = await logoutAll(deps, claimsOf(res).sub, requestMeta(req));
    if (res.locals.cookieSession) clearSessionCookie(res);
    res.json({ status: 'success', message: 'Logged out everywhere', revoked });
  });

  router.get('/me', bearer.sessionOrCookie, async (_req, res) => {
    const claims = claimsOf(res);
    const account = await currentAccount(deps, { userId: claims.sub, sid: claims.sid });
    res.set('Cache-Control', 'no-store').json(account);
  });

  router.get('/sessions', bearer.sessionOrCookie, async (_req, res) => {
    const claims = claimsOf(res);
    res.set('Cache-Control', 'no-store').json({ sessions: await listSessions(deps, claims.sub, claims.sid) });
  });

  router.delete('/sessions/:id', bearer.sessionOrCookie, async (req, res) => {
    const id = sessionId.safeParse(req.params.id);
    if (!id.success) throw sessionNotFound();
    await revokeOwnSession(deps, claimsOf(res).sub, id.data, requestMeta(req));
    res.json({ status: 'success', message: 'Session revoked' });
  });

  router.post('/password', bearer.sessionOrCookie, async (req, res) => {
    const body = parse(passwordBody, req.body, 'Send "current_password" and "new_password" as strings.');
    const claims = claimsOf(res);
    const { revoked } = await changePassword(
      deps,
      { userId: claims.sub, sid: claims.sid },
      { currentPassword: body.current_password, newPassword: body.new_password },
      requestMeta(req),
    );
    // A new cookie value for this session: the privilege of the old one (a password now changed) ends with it.
    const cookieSession = res.locals.cookieSession as CookieSession | undefined;
    if (cookieSession) setSessionCookie(res, await rotateSessionCookie(deps, cookieSession), cookies.maxAge);
    res.json({ status: 'success', message: 'Password changed; other sessions were signed out', revoked });
  });

  return router;
}
