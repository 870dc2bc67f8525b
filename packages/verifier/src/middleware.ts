/**
 * Express middleware for RFC 6750 Bearer tokens.
 *
 * `requireAuth(verifier)` reads exactly one Bearer credential from `Authorization` (scheme
 * case-insensitive; tokens in the query string or body are ignored), verifies it and puts the claims on
 * `res.locals.auth`. Failures go to `next(err)` with `status`, `code` and `expose`, and the
 * `WWW-Authenticate` header already set, so any problem+json error handler can render them.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessTokenClaims } from './claims.ts';
import { InsufficientScopeError, VerifyError } from './errors.ts';
import type { Verifier } from './verifier.ts';

interface RequireAuthOptions {
  /** `realm` in `WWW-Authenticate`. */
  realm?: string;
  /** Extra check after the signature and claims, e.g. "is the session still alive?". May throw. */
  check?: (claims: AccessTokenClaims, req: Request) => Promise<void>;
}

// RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The Bearer token in `Authorization`, or a `VerifyError`. */
function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '') throw new VerifyError('token_missing');
  if (!/^Bearer(?: |$)/i.test(header.trimStart())) throw new VerifyError('token_missing');
  const match = BEARER.exec(header.trim());
  if (!match?.[1]) throw new VerifyError('token_malformed');
  return match[1];
}

function challenge(realm: string, error?: { code: string; description: string }): string {
  // RFC 6750 section 3.1: a request without credentials gets a challenge with no error code.
  if (!error) return `Bearer realm="${realm}"`;
  return `Bearer realm="${realm}", error="${error.code}", error_description="${error.description}"`;
}

export function requireAuth(verifier: Verifier, options: RequireAuthOptions = {}): RequestHandler {
  const realm = options.realm ?? 'authstack';
  const fail = (res: Response, next: NextFunction, error: unknown) => {
    if (error instanceof VerifyError) {
      res.setHeader(
        'WWW-Authenticate',
        error.code === 'token_missing'
          ? challenge(realm)
          : challenge(realm, { code: 'invalid_token', description: error.title }),
      );
    }
    next(error);
  };
  const { check } = options;
  const verifyAndCheck = async (token: string, req: Request, res: Response, next: NextFunction) => {
    try {
      const claims = await verifier.verify(token);
      if (check) await check(claims, req);
      res.locals.auth = claims;
      next();
    } catch (error) {
      fail(res, next, error);
    }
  };
  // A cached token's claims still go through the extra check, which may refuse them (a revoked session).
  const checkCached =
    check &&
    (async (claims: AccessTokenClaims, req: Request, res: Response, next: NextFunction) => {
      try {
        await check(claims, req);
        res.locals.auth = claims;
        next();
      } catch (error) {
        fail(res, next, error);
      }
    });
  const peek = verifier.peek?.bind(verifier);
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    // A token verified before and not yet expired: its claims at once, without the verification's promise. Only
    // the exact `Bearer <token>` form is looked up: a cached token passed every syntax check when it was
    // verified, so the header needs no parsing; any other spelling takes the full path below. With no extra
    // check the request goes on synchronously; with one (the session check), only that check is awaited.
    if (peek && header?.startsWith('Bearer ')) {
      const cached = peek(header.slice(7));
      if (cached) {
        if (checkCached) {
          void checkCached(cached, req, res, next);
          return;
        }
        res.locals.auth = cached;
        next();
        return;
      }
    }
    let token: string;
    try {
      token = bearerToken(header);
    } catch (error) {
      fail(res, next, error);
      return;
    }
    void verifyAndCheck(token, req, res, next);
  };
}

/** After `requireAuth`: the token must carry `role`, else 403 `insufficient_scope`. */
export function requireRole(role: string, options: { realm?: string } = {}): RequestHandler {
  const realm = options.realm ?? 'authstack';
  return (_req, res, next) => {
    const claims = res.locals.auth as AccessTokenClaims | undefined;
    if (claims?.roles.includes(role)) {
      next();
      return;
    }
    res.setHeader(
      'WWW-Authenticate',
      challenge(realm, { code: 'insufficient_scope', description: `Requires role ${role}` }),
    );
    next(new InsufficientScopeError(role));
  };
}
