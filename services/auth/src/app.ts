/**
 * Builds the auth service's express app from its dependencies. Does not listen: `server.ts` does,
 * and tests start the app on port 0.
 */
import { authDocument } from '@authstack/contract/openapi';
import { requireJsonBody } from '@authstack/http-problem';
import { type BuildInfo, errorRoutes, internalApp, operationalRoutes } from '@authstack/lifecycle';
import { httpLogger, type Logger, type Metrics } from '@authstack/telemetry';
import { requireAuth, type Verifier, VerifyError } from '@authstack/verifier';
import express, { type Express } from 'express';
import type { AuthConfig } from './config.ts';
import type { UseCaseDeps } from './domain/deps.ts';
import type { Keyring } from './keys/keyring.ts';
import { accountRoutes } from './routes/accounts.ts';
import { adminRoutes } from './routes/admin.ts';
import { cookieExchangeRoute } from './routes/cookie-exchange.ts';
import { earlyShed } from './routes/early-shed.ts';
import { bearerOrCookie } from './routes/session-cookie.ts';
import { wellKnownRoutes } from './routes/well-known.ts';
import type { SessionStore } from './store/sessions.ts';

export interface AppDeps {
  /** Reported on /healthz. */
  build?: BuildInfo;
  config: Pick<AuthConfig, 'issuer' | 'jwksMaxAge' | 'trustProxy' | 'bodyLimit' | 'refreshAbsoluteTtl'>;
  logger: Logger;
  metrics: Metrics;
  /** What the use cases touch; each route hands a use case the part it needs. */
  useCases: UseCaseDeps;
  keyring: Keyring;
  sessions: SessionStore;
  verifier: Verifier;
  /** Readiness: every dependency reachable and not shutting down. */
  ready: () => Promise<boolean>;
  /** `/metrics` is served on the internal port (`buildInternalApp`), not here. */
  internalMetrics?: boolean;
}

export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.trustProxy);
  app.set('query parser', 'simple');

  operationalRoutes(app, deps, { metrics: !deps.internalMetrics });

  app.use(deps.metrics.middleware);
  // Under overload, login and register are shed here, before the request log and the body parser (counted by the
  // metrics middleware above, logged in aggregate): a refusal then takes as little as it can from the hashing.
  app.post('/auth/login', earlyShed('login', { ...deps.useCases, logger: deps.logger }));
  app.post('/auth/register', earlyShed('register', { ...deps.useCases, logger: deps.logger }));
  app.use(httpLogger(deps.logger));
  // The gateway's cookie exchange (nginx auth_request; a GET without a body). A session cookie's Max-Age
  // is the session's absolute lifetime; the idle one is enforced in Redis.
  app.use(cookieExchangeRoute(deps.useCases, deps.config.refreshAbsoluteTtl));
  app.use(requireJsonBody);
  app.use(express.json({ limit: deps.config.bodyLimit, strict: true, type: 'application/json' }));

  // Auth's own Bearer routes verify with the local key set and check that the session is still alive.
  const session = requireAuth(deps.verifier, {
    check: async (claims) => {
      if (!(await deps.sessions.isAlive(claims.sub, claims.sid))) throw new VerifyError('session_revoked');
    },
  });
  const bearer = {
    session,
    sessionOrCookie: bearerOrCookie(deps.useCases, session, deps.config.refreshAbsoluteTtl),
    token: requireAuth(deps.verifier),
  };

  app.use(wellKnownRoutes(deps.keyring, deps.config));
  // The OpenAPI 3.1 document, generated from the schemas the routes validate with.
  const openapi = JSON.stringify(authDocument(deps.build?.version));
  app.get('/auth/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').type('application/json').send(openapi);
  });
  app.use('/auth/admin', adminRoutes(deps.useCases, bearer.session));
  app.use('/auth', accountRoutes(deps.useCases, bearer, { maxAge: deps.config.refreshAbsoluteTtl }));

  errorRoutes(app, deps.logger);
  return app;
}

/**
 * What auth serves on `INTERNAL_PORT`: `/metrics`, and the JWKS and metadata for the verifiers inside the cluster,
 * so they read the keys without reaching the API port (only the gateway does, and only it may set the client address).
 */
export const buildInternalApp = (deps: Pick<AppDeps, 'metrics' | 'logger' | 'keyring' | 'config'>): Express =>
  internalApp(deps, (app) => app.use(wellKnownRoutes(deps.keyring, deps.config)));
