export type { AccessTokenClaims } from './claims.ts';
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
  STEPS,
  type StepName,
  type Verifier,
  type VerifierOptions,
} from './verifier.ts';
