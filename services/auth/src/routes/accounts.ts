/** Thin routes: validate the body into plain data, call a use case, write the response. */
import { HttpProblem } from '@authstack/http-problem';
import { requestId } from '@authstack/telemetry';
import type { AccessTokenClaims } from '@authstack/verifier';
import { type Request, type RequestHandler, Router } from 'express';
import { z } from 'zod';
import { type AccountDeps, login, publicUser, type RequestMeta, register } from '../domain/accounts.ts';
import { invalidInput } from '../domain/errors.ts';

const noNul = (value: string) => !value.includes('\u0000');

const credentials = z.object({
  username: z.string().min(1).max(256).refine(noNul, 'must not contain NUL'),
  password: z.string().min(1).max(1024).refine(noNul, 'must not contain NUL'),
});

function parseCredentials(body: unknown): { username: string; password: string } {
  const result = credentials.safeParse(body);
  if (!result.success) {
    throw invalidInput(
      'Send a JSON object with string fields "username" and "password".',
      result.error.issues.map((issue) => ({
        field: issue.path.join('.') || '(body)',
        message: issue.message,
      })),
    );
  }
  return result.data;
}

export function requestMeta(req: Request): RequestMeta {
  return { ip: req.ip ?? 'unknown', userAgent: req.get('user-agent') ?? '', requestId: requestId(req) };
}

export function accountRoutes(deps: AccountDeps, requireAuth: RequestHandler): Router {
  const router = Router();

  router.post('/register', async (req, res) => {
    const user = await register(deps, parseCredentials(req.body), requestMeta(req));
    res.status(201).json({ status: 'success', message: 'User registered successfully', user });
  });

  router.post('/login', async (req, res) => {
    const issued = await login(deps, parseCredentials(req.body), requestMeta(req));
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
  });

  router.get('/me', requireAuth, async (_req, res) => {
    const claims = res.locals.auth as AccessTokenClaims;
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

  return router;
}
