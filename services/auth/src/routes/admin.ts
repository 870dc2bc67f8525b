/**
 * Admin API: every route needs a live session, and the account behind it must be an active admin now: the
 * role and the disabled flag are read from PostgreSQL on every request, never taken from the token alone.
 */
import {
  EventsQuery,
  ImportRequest,
  UserIdParam,
  UserPatch,
  UserSessionParams,
  UsersQuery,
} from '@authstack/contract';
import { type AccessTokenClaims, VerifyError } from '@authstack/verifier';
import { type RequestHandler, type Response, Router } from 'express';
import {
  adminStanding,
  exportAccounts,
  importAccounts,
  listEvents,
  listUserSessions,
  listUsers,
  revokeUserSessions,
  rotateSigningKey,
  updateUser,
} from '../domain/admin.ts';
import type { UseCaseDeps } from '../domain/deps.ts';
import { notAdmin, sessionNotFound, userNotFound } from '../domain/errors.ts';
import { requestMeta } from '../domain/request-meta.ts';
import { parse } from './validation.ts';

/** A path id that is not a UUID names no account (or session): 404, as for an unknown one. */
const userIdOf = (params: unknown) => {
  const parsed = UserIdParam.safeParse(params);
  if (!parsed.success) throw userNotFound();
  return parsed.data.id;
};

const actorOf = (res: Response) => {
  const claims = res.locals.auth as AccessTokenClaims;
  return { userId: claims.sub, username: claims.username };
};

/** After the Bearer check: the caller's current account is an active admin (RFC 6750 challenges otherwise). */
const currentAdmin =
  (deps: Pick<UseCaseDeps, 'users'>): RequestHandler =>
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

export function adminRoutes(deps: UseCaseDeps, bearer: RequestHandler): Router {
  const router = Router();
  router.use(bearer, currentAdmin(deps));
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.get('/users', async (req, res) => {
    const query = parse(UsersQuery, req.query, 'Query: limit (1-100), cursor, username.');
    res.json(await listUsers(deps, query));
  });

  // Before /users/:id, so "export" is not read as an id.
  router.get('/users/export', async (req, res) => {
    res.type('application/x-ndjson');
    for await (const page of exportAccounts(deps, actorOf(res), requestMeta(req))) {
      res.write(page.map((account) => `${JSON.stringify(account)}\n`).join(''));
    }
    res.end();
  });

  router.post('/users/import', async (req, res) => {
    const body = parse(ImportRequest, req.body, 'Send {"accounts": [...]} with 1 to 100 accounts.');
    const result = await importAccounts(deps, actorOf(res), body.accounts, requestMeta(req));
    res.json({ status: 'success', ...result });
  });

  router.patch('/users/:id', async (req, res) => {
    const id = userIdOf(req.params);
    const body = parse(UserPatch, req.body, 'Send {"roles": [...], "disabled": true|false}.');
    res.json({
      status: 'success',
      user: await updateUser(deps, actorOf(res), id, body, requestMeta(req)),
    });
  });

  router.get('/users/:id/sessions', async (req, res) => {
    res.json(await listUserSessions(deps, userIdOf(req.params)));
  });

  router.delete('/users/:id/sessions', async (req, res) => {
    const revoked = await revokeUserSessions(
      deps,
      actorOf(res),
      userIdOf(req.params),
      undefined,
      requestMeta(req),
    );
    res.json({ status: 'success', message: 'Sessions revoked', revoked });
  });

  router.delete('/users/:id/sessions/:sid', async (req, res) => {
    const id = userIdOf(req.params);
    const params = UserSessionParams.safeParse(req.params);
    if (!params.success) throw sessionNotFound();
    await revokeUserSessions(deps, actorOf(res), id, params.data.sid, requestMeta(req));
    res.json({ status: 'success', message: 'Session revoked' });
  });

  router.post('/keys/rotate', async (req, res) => {
    res
      .status(202)
      .json({ status: 'accepted', key: await rotateSigningKey(deps, actorOf(res), requestMeta(req)) });
  });

  router.get('/events', async (req, res) => {
    const query = parse(EventsQuery, req.query, 'Query: type, user_id, limit (1-100), cursor.');
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
