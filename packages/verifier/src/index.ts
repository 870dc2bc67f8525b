export type { AccessTokenClaims } from './claims.ts';
export {
  CLAIM_FAILURES,
  type ClaimFailure,
  STEPS,
  type StepName,
  VERIFY_ERROR_CODES,
} from './codes.ts';
export { KeySetUnavailableError, VerifyError, type VerifyErrorCode } from './errors.ts';
export {
  type Algorithm,
  importJwks,
  type KeySource,
  localKeySet,
  remoteKeySet,
  type VerificationKey,
} from './keys.ts';
export { requireAuth, requireRole } from './middleware.ts';
export {
  createVerifier,
  type ExplainedStep,
  type ExplainOptions,
  type Explanation,
  type Verifier,
  type VerifierOptions,
} from './verifier.ts';
