/**
 * Builds the resource service's express app from its dependencies; does not listen.
 * Every protected route is verified statelessly by `@authstack/verifier` (signature against the cached JWKS,
 * claim checks); in session mode one Redis round trip also checks that the token's session is alive.
 */
import type { TrustProxy } from '@authstack/config';
import { resourceDocument } from '@authstack/contract/openapi';
import { type BuildInfo, errorRoutes, internalApp, operationalRoutes } from '@authstack/lifecycle';
import { httpLogger, type Logger, type Metrics } from '@authstack/telemetry';
import { type AccessTokenClaims, requireAuth, requireRole, type Verifier } from '@authstack/verifier';
import express, { type Express, type Response } from 'express';
import { studyRoutes } from './routes/study.ts';

export interface AppDeps {
  /** Reported on /healthz. */
  build?: BuildInfo;
  logger: Logger;
  metrics: Metrics;
  verifier: Verifier;
  trustProxy: TrustProxy;
  /** Session mode: throws `VerifyError('session_revoked')` or a 503 when the session cannot be confirmed. */
  sessionCheck?: (claims: AccessTokenClaims) => Promise<void>;
  ready: () => Promise<boolean>;
  /** `/metrics` is served on the internal port (`buildInternalApp`), not here. */
  internalMetrics?: boolean;
  /** The study console's endpoints (`routes/study.ts`). */
  study: {
    verifyMode: 'stateless' | 'session';
    results: () => Record<string, number>;
    sessionChecks: () => Record<string, number>;
    explainPerMinute: number;
  };
}

/** A response for this token's holder only: `Cache-Control: no-store`, set by the handler (no extra middleware). */
const sendPrivate = (res: Response, body: object) => {
  res.setHeader('Cache-Control', 'no-store');
  res.json(body);
};

export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', deps.trustProxy);

  operationalRoutes(app, deps, { metrics: !deps.internalMetrics });

  app.use(httpLogger(deps.logger));
  app.use(deps.metrics.middleware);

  const { sessionCheck } = deps;
  const authenticated = requireAuth(
    deps.verifier,
    sessionCheck ? { check: (claims) => sessionCheck(claims) } : {},
  );
  const claimsOf = (locals: Record<string, unknown>) => locals.auth as AccessTokenClaims;

  // The OpenAPI 3.1 document, generated from the contract's schemas.
  const openapi = JSON.stringify(resourceDocument(deps.build?.version));
  app.get('/api/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').type('application/json').send(openapi);
  });

  app.get('/api/public', (_req, res) => {
    res.json({ status: 'success', message: 'This content is public.' });
  });

  app.get('/api/protected', authenticated, (_req, res) => {
    const { username, roles } = claimsOf(res.locals);
    sendPrivate(res, {
      status: 'success',
      message: `You are viewing protected content, ${username}!`,
      username,
      roles,
    });
  });

  app.get('/api/admin', authenticated, requireRole('admin'), (_req, res) => {
    const { username } = claimsOf(res.locals);
    sendPrivate(res, { status: 'success', message: `Welcome to the admin panel, ${username}!` });
  });

  app.get('/api/whoami', authenticated, (_req, res) => {
    sendPrivate(res, { status: 'success', claims: claimsOf(res.locals) });
  });

  studyRoutes(app, { verifier: deps.verifier, ...deps.study });

  errorRoutes(app, deps.logger);
  return app;
}

/** What the resource serves on `INTERNAL_PORT`: `/metrics` only. */
export const buildInternalApp = (deps: Pick<AppDeps, 'metrics' | 'logger'>): Express => internalApp(deps);
