export {
  InsufficientScopeError,
  KeySetUnavailableError,
  VerifyError,
  type VerifyErrorCode,
} from './errors.ts';
export {
  type Algorithm,
  importJwks,
  type KeySource,
  keyFitsAlgorithm,
  localKeySet,
  type RemoteKeySet,
  type RemoteKeySetOptions,
  remoteKeySet,
  type VerificationKey,
} from './keys.ts';
export {
  type AuthLocals,
  bearerToken,
  type RequireAuthOptions,
  requireAuth,
  requireRole,
} from './middleware.ts';
export {
  type AccessTokenClaims,
  createVerifier,
  type Verifier,
  type VerifierOptions,
  type VerifierStats,
} from './verifier.ts';
