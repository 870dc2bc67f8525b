/**
 * One verifier peer behind the same express app: `GET /api/protected` answers the resource service's JSON when
 * the peer accepts the Bearer token, and 401 when it refuses it. Started by `bench/peers.ts` as a process of
 * its own (PORT, BENCH_PEER, BENCH_ISSUER, BENCH_AUDIENCE, BENCH_JWKS_URI).
 *
 * Every peer gets the same policy: RS256 only, the issuer, the audience, `exp` with 10 s of leeway, `typ` at+jwt
 * where the library can check it, keys only from the JWKS URI (cached by the library's own means).
 */
import { createServer } from 'node:http';
import { createVerifier, remoteKeySet, requireAuth } from '@authstack/verifier';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { auth as oauth2JwtBearer } from 'express-oauth2-jwt-bearer';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { passportJwtSecret } from 'jwks-rsa';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';

export const PEERS = [
  'limit',
  'verifier-cache',
  'verifier-no-cache',
  'jose',
  'express-oauth2-jwt-bearer',
  'passport-jwt',
] as const;
export type Peer = (typeof PEERS)[number];

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

function middleware(
  peer: Peer,
  issuer: string,
  audience: string,
  jwksUri: string,
): RequestHandler | RequestHandler[] {
  const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
  switch (peer) {
    case 'limit':
      // No verification at all: what express itself costs on this path.
      return (_req, res, next) => {
        res.locals.auth = { username: 'alice', roles: ['user'] };
        next();
      };
    case 'verifier-cache':
    case 'verifier-no-cache': {
      const verifier = createVerifier({
        issuer,
        audience,
        algorithms: ['RS256'],
        keys: remoteKeySet({ jwksUri, algorithms: ['RS256'] }),
        clockToleranceSec: 10,
        cacheSize: peer === 'verifier-cache' ? 10_000 : 0,
      });
      return requireAuth(verifier);
    }
    case 'jose': {
      const jwks = createRemoteJWKSet(new URL(jwksUri));
      return (req, res, next) => {
        const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
        if (!token) {
          next(Object.assign(new Error('no token'), { status: 401 }));
          return;
        }
        jwtVerify(token, jwks, {
          issuer,
          audience,
          algorithms: ['RS256'],
          typ: 'at+jwt',
          clockTolerance: 10,
          requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        }).then(
          ({ payload }) => {
            res.locals.auth = payload;
            next();
          },
          () => next(Object.assign(new Error('invalid token'), { status: 401 })),
        );
      };
    }
    case 'express-oauth2-jwt-bearer':
      // strict: RFC 9068 profile (typ at+jwt, iat, sub, client_id, jti required).
      return [
        oauth2JwtBearer({
          issuer,
          audience,
          jwksUri,
          tokenSigningAlg: 'RS256',
          clockTolerance: 10,
          strict: true,
        }),
        (req, res, next) => {
          res.locals.auth = req.auth?.payload;
          next();
        },
      ];
    case 'passport-jwt': {
      // jsonwebtoken under passport-jwt reads no header but `alg` and `kid`: `typ` cannot be required.
      passport.use(
        new JwtStrategy(
          {
            jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
            secretOrKeyProvider: passportJwtSecret({ jwksUri, cache: true, rateLimit: true }),
            issuer,
            audience,
            algorithms: ['RS256'],
            jsonWebTokenOptions: { clockTolerance: 10 },
          },
          (payload: unknown, done: (error: unknown, user?: unknown) => void) => done(null, payload),
        ),
      );
      const authenticate = passport.authenticate('jwt', { session: false, failWithError: true });
      return (req, res, next) =>
        authenticate(req, res, (error?: unknown) => {
          if (error) {
            next(Object.assign(new Error('invalid token'), { status: 401 }));
            return;
          }
          res.locals.auth = req.user;
          next();
        });
    }
  }
}

if (import.meta.main) {
  const peer = env('BENCH_PEER') as Peer;
  if (!PEERS.includes(peer)) throw new Error(`unknown peer ${peer}`);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(passport.initialize());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const verify = middleware(peer, env('BENCH_ISSUER'), env('BENCH_AUDIENCE'), env('BENCH_JWKS_URI'));
  app.get('/api/protected', [verify].flat(), (_req: express.Request, res: express.Response) => {
    const { username, roles } = res.locals.auth as { username: string; roles: string[] };
    res.set('Cache-Control', 'no-store');
    res.json({
      status: 'success',
      message: `You are viewing protected content, ${username}!`,
      username,
      roles,
    });
  });
  const refuse: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = Number((error as { status?: number }).status) || 500;
    res.status(status >= 400 && status < 500 ? status : 500).json({ status: 'error' });
  };
  app.use(refuse);
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  server.listen(Number(env('PORT')), '127.0.0.1');
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
