/** Thin routes: validate the body into plain data, call a use case, write the response. */
import { Credentials, PasswordChangeRequest, RefreshRequest, SessionIdParam } from '@authstack/contract';
import { HttpProblem } from '@authstack/http-problem';
import { requestId } from '@authstack/telemetry';
import { type AccessTokenClaims, VerifyError } from '@authstack/verifier';
import { type Request, type RequestHandler, type Response, Router } from 'express';
import {
  type AccountDeps,
  type IssuedTokens,
  login,
  publicUser,
  type RequestMeta,
  register,
} from '../domain/accounts.ts';
import {
  changePassword,
  listSessions,
  logout,
  logoutAll,
  refresh,
  revokeOwnSession,
} from '../domain/sessions.ts';
import { clientAddress } from './client-address.ts';
import { parse } from './validation.ts';

const credentials = Credentials;
const refreshBody = RefreshRequest;
const passwordBody = PasswordChangeRequest;
const sessionId = SessionIdParam.shape.id;

const CREDENTIALS_HINT = 'Send a JSON object with string fields "username" and "password".';

export function requestMeta(req: Request): RequestMeta {
  return { ip: clientAddress(req), userAgent: req.get('user-agent') ?? '', requestId: requestId(req) };
}

const claimsOf = (res: Response) => res.locals.auth as AccessTokenClaims;

function sendTokens(res: Response, issued: IssuedTokens): void {
  res.set('Cache-Control', 'no-store').json({
    status: 'success',
    message: `Welcome ${issued.user.username}!`,
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
  /** Verified token; the session may already be gone (for idempotent logout). */
  token: RequestHandler;
}

export function accountRoutes(deps: AccountDeps, bearer: BearerGuards): Router {
  const router = Router();

  router.post('/register', async (req, res) => {
    const user = await register(deps, parse(credentials, req.body, CREDENTIALS_HINT), requestMeta(req));
    res.status(201).json({ status: 'success', message: 'User registered successfully', user });
  });

  router.post('/login', async (req, res) => {
    sendTokens(res, await login(deps, parse(credentials, req.body, CREDENTIALS_HINT), requestMeta(req)));
  });

  router.post('/refresh', async (req, res) => {
    const { refresh_token } = parse(
      refreshBody,
      req.body,
      'Send a JSON object with a string "refresh_token".',
    );
    sendTokens(res, await refresh(deps, refresh_token, requestMeta(req)));
  });

  // Bearer access token (its session) or {refresh_token}. Idempotent: an already-ended session answers 200.
  router.post(
    '/logout',
    (req, res, next) => (req.headers.authorization ? bearer.token(req, res, next) : next()),
    async (req, res) => {
      if (res.locals.auth) {
        await logout(deps, { userId: claimsOf(res).sub, sid: claimsOf(res).sid }, requestMeta(req));
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

  router.post('/logout-all', bearer.session, async (req, res) => {
    const revoked = await logoutAll(deps, claimsOf(res).sub, requestMeta(req));
    res.json({ status: 'success', message: 'Logged out everywhere', revoked });
  });

  router.get('/me', bearer.session, async (_req, res) => {
    const claims = claimsOf(res);
    const user = await deps.users.findById(claims.sub);
    if (!user || user.disabled) {
      throw new HttpProblem({ status: 401, code: 'invalid_token', title: 'Account no longer active' });
    }
    res.set('Cache-Control', 'no-store').json({
      ...publicUser(user),
      created_at: user.createdAt.toISOString(),
      last_login_at: user.lastLoginAt?.toISOString() ?? null,
      session_id: claims.sid,
    });
  });

  router.get('/sessions', bearer.session, async (_req, res) => {
    const claims = claimsOf(res);
    res.set('Cache-Control', 'no-store').json({ sessions: await listSessions(deps, claims.sub, claims.sid) });
  });

  router.delete('/sessions/:id', bearer.session, async (req, res) => {
    const id = sessionId.safeParse(req.params.id);
    if (!id.success)
      throw new HttpProblem({ status: 404, code: 'session_not_found', title: 'Session not found' });
    await revokeOwnSession(deps, claimsOf(res).sub, id.data, requestMeta(req));
    res.json({ status: 'success', message: 'Session revoked' });
  });

  router.post('/password', bearer.session, async (req, res) => {
    const body = parse(passwordBody, req.body, 'Send "current_password" and "new_password" as strings.');
    const claims = claimsOf(res);
    const { revoked } = await changePassword(
      deps,
      { userId: claims.sub, sid: claims.sid },
      { currentPassword: body.current_password, newPassword: body.new_password },
      requestMeta(req),
    );
    res.json({ status: 'success', message: 'Password changed; other sessions were signed out', revoked });
  });

  return router;
}
