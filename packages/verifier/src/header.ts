/**
 * The JOSE header of a compact JWS, read before any key is looked up: the shape of the token, `alg` against the
 * verifier's pinned list (never taken from the token), `typ` (RFC 9068 section 4) and `kid`. Header parameters
 * that name keys (`jku`, `x5u`, `jwk`, `x5c`) are never read. A header with `crit` is refused: it names extensions
 * the verifier must understand, and it understands none (RFC 7515 section 4.1.11).
 *
 * Each check is its own function: `verifier.ts` runs them in order, and `explain()` reports them one by one.
 */
import { VerifyError } from './errors.ts';
import type { Algorithm } from './keys.ts';

export type JoseHeader = Record<string, unknown>;

const ACCEPTED_TYPES = new Set(['at+jwt', 'application/at+jwt']);
const MAX_KID_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** A compact JWS split once: its header decoded (not yet trusted), the rest kept as the token spelled it. */
export interface DecodedToken {
  header: JoseHeader;
  /** `BASE64URL(header) || '.' || BASE64URL(payload)`: what the signature covers. */
  signingInput: string;
  /** The second part, base64url: decoded only once the signature holds (`decodePayload`). */
  payload: string;
  /** The third part, base64url (empty when stripped). */
  signature: string;
}

/** Three base64url parts (no padding, nothing else) whose first is a JSON object: the header, not yet trusted. */
export function decodeToken(token: string): DecodedToken {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !BASE64URL.test(part)) || !parts[0] || !parts[1]) {
    throw new VerifyError('token_malformed');
  }
  const [encodedHeader, payload, signature] = parts as [string, string, string];
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new VerifyError('token_malformed', { cause });
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    throw new VerifyError('token_malformed');
  // `crit` in any form (even empty, which RFC 7515 forbids): e.g. `b64: false` (RFC 7797) would change what the
  // signature covers, and the verifier understands no extension.
  if (Object.hasOwn(header, 'crit')) throw new VerifyError('token_malformed');
  return {
    header: header as JoseHeader,
    signingInput: token.slice(0, encodedHeader.length + 1 + payload.length),
    payload,
    signature,
  };
}

/**
 * The payload of a token whose signature holds: JSON when it parses, else the text itself, which `claimSet`
 * refuses as it refuses any payload that is not a JSON object (`token_malformed` at the claims-set step).
 */
export function decodePayload(payload: string): unknown {
  const text = Buffer.from(payload, 'base64url').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `alg` must be in the verifier's pinned list: `none` and `HS*` can never be. */
export function checkAlgorithm(header: JoseHeader, algorithms: readonly Algorithm[]): Algorithm {
  if (!algorithms.includes(header.alg as Algorithm)) throw new VerifyError('algorithm_not_allowed');
  return header.alg as Algorithm;
}

/** `typ` says this is an access token (RFC 9068 section 2.1), not an ID token or another JWT. */
export function checkType(header: JoseHeader): string {
  const { typ } = header;
  if (typ === undefined) throw new VerifyError('type_invalid', { claim: 'typ', reason: 'missing' });
  if (typeof typ !== 'string') throw new VerifyError('type_invalid', { claim: 'typ', reason: 'invalid' });
  if (!ACCEPTED_TYPES.has(typ.toLowerCase())) {
    throw new VerifyError('type_invalid', { claim: 'typ', reason: 'check_failed' });
  }
  return typ;
}

/** A `kid` of bounded length; whether a key has it is the key source's question. */
export function checkKid(header: JoseHeader): string {
  const { kid } = header;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new VerifyError('key_unknown');
  }
  return kid;
}
