/**
 * The JOSE header of a compact JWS, read before any key is looked up: the shape of the token, `alg` against the
 * verifier's pinned list (never taken from the token), `typ` (RFC 9068 section 4) and `kid`. Header parameters
 * that name keys (`jku`, `x5u`, `jwk`, `x5c`) are never read.
 */
import { VerifyError } from './errors.ts';
import type { Algorithm } from './keys.ts';

interface CheckedHeader {
  alg: Algorithm;
  kid: string;
}

const ACCEPTED_TYPES = new Set(['at+jwt', 'application/at+jwt']);
const MAX_KID_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeHeader(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !BASE64URL.test(part)) || !parts[0] || !parts[1]) {
    throw new VerifyError('token_malformed');
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  } catch (cause) {
    throw new VerifyError('token_malformed', { cause });
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new VerifyError('token_malformed');
  return header as Record<string, unknown>;
}

/** The header's `alg` and `kid`, once `alg` is allowed and `typ` says this is an access token. */
export function checkHeader(token: string, algorithms: readonly Algorithm[]): CheckedHeader {
  const { alg, typ, kid } = decodeHeader(token);
  if (!algorithms.includes(alg as Algorithm)) throw new VerifyError('algorithm_not_allowed');
  if (typ === undefined) throw new VerifyError('type_invalid', { claim: 'typ', reason: 'missing' });
  if (typeof typ !== 'string') throw new VerifyError('type_invalid', { claim: 'typ', reason: 'invalid' });
  if (!ACCEPTED_TYPES.has(typ.toLowerCase())) {
    throw new VerifyError('type_invalid', { claim: 'typ', reason: 'check_failed' });
  }
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new VerifyError('key_unknown');
  }
  return { alg: alg as Algorithm, kid };
}
