/** Public key discovery: the JWKS and an RFC 8414-style metadata document pointing at it. */
import { Router } from 'express';
import type { Keyring } from '../keys/keyring.ts';

export function wellKnownRoutes(keyring: Keyring, settings: { issuer: string; jwksMaxAge: number }): Router {
  const router = Router();
  const cache = `public, max-age=${settings.jwksMaxAge}`;

  router.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', cache).type('application/jwk-set+json').send(JSON.stringify(keyring.jwks()));
  });

  router.get('/.well-known/openid-configuration', (_req, res) => {
    res.set('Cache-Control', cache).json({
      issuer: settings.issuer,
      jwks_uri: `${settings.issuer}/.well-known/jwks.json`,
      access_token_signing_alg_values_supported: keyring.algorithms(),
      token_endpoint_auth_methods_supported: ['none'],
      response_types_supported: [],
    });
  });

  return router;
}
