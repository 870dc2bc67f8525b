/**
 * The verifier's vocabulary as data: the steps of its pipeline in order, every code it refuses a token with, and
 * how a claim can fail. This module imports nothing, so the OpenAPI contract (`@authstack/contract`) takes these
 * lists from here (`@authstack/verifier/codes`) without loading the verifier itself.
 */

/** The steps of the pipeline, in order: `verify()` runs them, `explain()` reports each. */
export const STEPS = [
  'format',
  'algorithm',
  'type',
  'kid',
  'signature',
  'claims_set',
  'issuer',
  'audience',
  'required_claims',
  'time',
] as const;
export type StepName = (typeof STEPS)[number];

/** Stable machine codes for every way an access token can be refused. */
export const VERIFY_ERROR_CODES = [
  'token_missing',
  'token_malformed',
  'token_expired',
  'token_not_yet_valid',
  'signature_invalid',
  'algorithm_not_allowed',
  'key_unknown',
  'issuer_invalid',
  'audience_invalid',
  'type_invalid',
  'claims_invalid',
  'session_revoked',
] as const;
export type VerifyErrorCode = (typeof VERIFY_ERROR_CODES)[number];

/** How a claim (or the `typ` header parameter) failed, after jose's `JWTClaimValidationFailed.reason`. */
export const CLAIM_FAILURES = ['missing', 'invalid', 'check_failed'] as const;
export type ClaimFailure = (typeof CLAIM_FAILURES)[number];
