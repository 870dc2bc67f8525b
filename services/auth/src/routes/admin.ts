/**
 * Admin API: every route needs a live session, and the account behind it must be an active admin now: the
 * role and the disabled flag are read from PostgreSQL on every request, never taken from the token alone.
 */
import { HttpProblem } from '@authstack/http-problem';
import { type AccessTokenClaims, VerifyError } from '@authstack/verifier';
import { type RequestHandler, type Response, Router } from 'express';
import { z } from 'zod';
import type { AccountDeps } from '../domain/accounts.ts';
import {
  adminStanding,
  listEvents,
  listUsers,
  ROLES,
  rotateSigningKey,
  updateUser,
} from '../domain/admin.ts';
import { notAdmin } from '../domain/errors.ts';
import type { AuthEventType } from '../store/events.ts';
import { requestMeta } from './accounts.ts';
import { parse } from './validation.ts';

const EVENT_TYPES: [AuthEventType, ...AuthEventType[]] = [
  'register',
  'login_success',
  'login_failure',
  'refresh_reuse',
  'logout',
  'logout_all',
  'password_change',
  'password_change_failure',
  'role_change',
  'user_disabled',
  'user_enabled',
  'key_rotation',
  'admin_bootstrap',
];

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
};
const usersQuery = z.object(page);
const eventsQuery = z.object({ ...page, type: z.enum(EVENT_TYPES).optional(), user_id: z.uuid().optional() });
const patchBody = z
  .object({ roles: z.array(z.enum(ROLES)).max(ROLES.length).optional(), disabled: z.boolean().optional() })
  .strict()
  .refine(
    (body) => body.roles !== undefined || body.disabled !== undefined,
    'send "roles" and/or "disabled"',
  );

const actorOf = (res: Response) => {
  const claims = res.locals.auth as AccessTokenClaims;
  return { userId: claims.sub, username: claims.username };
};

/** After the Bearer check: the caller's current account is an active admin (RFC 6750 challenges otherwise). */
const currentAdmin =
  (deps: AccountDeps): RequestHandler =>
  async (_req, res, next) => {
    const standing = await adminStanding(deps, (res.locals.auth as AccessTokenClaims).sub);
    if (standing === 'admin') return next();
    if (standing === 'inactive') {
      const error = new VerifyError('session_revoked');
      res.set(
        'WWW-Authenticate',
        `Bearer realm="authstack", error="invalid_token", error_description="${error.title}"`,
      );
      return next(error);
    }
    res.set(
      'WWW-Authenticate',
      'Bearer realm="authstack", error="insufficient_scope", error_description="Requires role admin"',
    );
    next(notAdmin());
  };

export function adminRoutes(deps: AccountDeps, bearer: RequestHandler): Router {
  const router = Router();
  router.use(bearer, currentAdmin(deps));
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.get('/users', async (req, res) => {
    const query = parse(usersQuery, req.query, 'Query: limit (1-100), cursor.');
    res.json(await listUsers(deps, query));
  });

  router.patch('/users/:id', async (req, res) => {
    const id = z.uuid().safeParse(req.params.id);
    if (!id.success) throw new HttpProblem({ status: 404, code: 'user_not_found', title: 'User not found' });
    const body = parse(patchBody, req.body, 'Send {"roles": [...], "disabled": true|false}.');
    res.json({
      status: 'success',
      user: await updateUser(deps, actorOf(res), id.data, body, requestMeta(req)),
    });
  });

  router.post('/keys/rotate', async (req, res) => {
    res
      .status(202)
      .json({ status: 'accepted', key: await rotateSigningKey(deps, actorOf(res), requestMeta(req)) });
  });

  router.get('/events', async (req, res) => {
    const query = parse(eventsQuery, req.query, 'Query: type, user_id, limit (1-100), cursor.');
    res.json(
      await listEvents(deps, {
        type: query.type,
        userId: query.user_id,
        cursor: query.cursor,
        limit: query.limit,
      }),
    );
  });

  return router;
}
