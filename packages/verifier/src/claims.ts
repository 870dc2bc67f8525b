/**
 * The claim checks of an RFC 9068 access token, in our own typed code (after panva/jose
 * `lib/jwt_claims_set.ts`): run only on a claim set whose signature has already been verified, each failure a
 * `VerifyError` with a stable `code`, the `claim` and the `reason`. No JWT library's messages are read.
 *
 * Order: the claim set is a JSON object; who issued it for whom (`iss`, `aud`); the types of the claims this
 * stack relies on; then time (`nbf`, `exp`, `iat`) against the injected clock with the leeway.
 */
import { type ClaimFailure, VerifyError, type VerifyErrorCode } from './errors.ts';

export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  username: string;
  roles: string[];
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  nbf?: number;
  client_id?: string;
  [claim: string]: unknown;
}

export interface ClaimsPolicy {
  issuer: string;
  audience: string;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. */
  toleranceSec: number;
}

export type ClaimSet = Record<string, unknown>;

const REQUIRED_STRINGS = ['sub', 'username', 'sid', 'jti'] as const;

function refuse(code: VerifyErrorCode, claim: string, reason: ClaimFailure): never {
  throw new VerifyError(code, { claim, reason });
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** `iss`: absent, of the wrong type or someone else's. */
export function checkIssuer(claims: ClaimSet, policy: ClaimsPolicy): string {
  const { iss } = claims;
  if (iss === undefined) refuse('issuer_invalid', 'iss', 'missing');
  if (typeof iss !== 'string') refuse('issuer_invalid', 'iss', 'invalid');
  if (iss !== policy.issuer) refuse('issuer_invalid', 'iss', 'check_failed');
  return iss;
}

/** `aud`: a string or an array of strings that contains ours. */
export function checkAudience(claims: ClaimSet, policy: ClaimsPolicy): string[] {
  const { aud } = claims;
  if (aud === undefined) refuse('audience_invalid', 'aud', 'missing');
  if (typeof aud !== 'string' && !isStringArray(aud)) refuse('audience_invalid', 'aud', 'invalid');
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (!audiences.includes(policy.audience)) refuse('audience_invalid', 'aud', 'check_failed');
  return audiences;
}

/** A NumericDate (RFC 7519 section 2): `claims_invalid` when required and absent, or not a number. */
function numericDate(claims: ClaimSet, claim: 'exp' | 'iat' | 'nbf', required: boolean): number | undefined {
  const value = claims[claim];
  if (value === undefined) {
    if (required) refuse('claims_invalid', claim, 'missing');
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) refuse('claims_invalid', claim, 'invalid');
  return value;
}

/** The string claims and the `roles` array this stack relies on. */
export function checkShape(claims: ClaimSet): void {
  for (const claim of REQUIRED_STRINGS) {
    if (claims[claim] === undefined) refuse('claims_invalid', claim, 'missing');
    if (typeof claims[claim] !== 'string') refuse('claims_invalid', claim, 'invalid');
  }
  if (claims.roles === undefined) refuse('claims_invalid', 'roles', 'missing');
  if (!isStringArray(claims.roles)) refuse('claims_invalid', 'roles', 'invalid');
}

/**
 * Time, with the leeway on every side: not before `nbf`, expired once `now >= exp + leeway`, and a token
 * issued in the future (`iat`) is not yet valid either.
 */
export function checkTime(claims: ClaimSet, nowSec: number, toleranceSec: number): void {
  const exp = numericDate(claims, 'exp', true) as number;
  const iat = numericDate(claims, 'iat', true) as number;
  const nbf = numericDate(claims, 'nbf', false);
  if (nbf !== undefined && nbf > nowSec + toleranceSec) refuse('token_not_yet_valid', 'nbf', 'check_failed');
  if (exp <= nowSec - toleranceSec) refuse('token_expired', 'exp', 'check_failed');
  if (iat > nowSec + toleranceSec) refuse('token_not_yet_valid', 'iat', 'check_failed');
}

/** The verified payload must be a JSON object: `decodePayload` hands back the text when it is not JSON. */
export function claimSet(payload: unknown): ClaimSet {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new VerifyError('token_malformed');
  }
  return payload as ClaimSet;
}
