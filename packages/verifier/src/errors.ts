import type { ClaimFailure, VerifyErrorCode } from './codes.ts';

export type { ClaimFailure, VerifyErrorCode } from './codes.ts';

const TITLES: Record<VerifyErrorCode, string> = {
  token_missing: 'Access token missing',
  token_malformed: 'Access token malformed',
  token_expired: 'Access token expired',
  token_not_yet_valid: 'Access token not yet valid',
  signature_invalid: 'Access token signature invalid',
  algorithm_not_allowed: 'Access token algorithm not allowed',
  key_unknown: 'Access token signed by an unknown key',
  issuer_invalid: 'Access token issuer invalid',
  audience_invalid: 'Access token audience invalid',
  type_invalid: 'Access token type invalid',
  claims_invalid: 'Access token claims invalid',
  session_revoked: 'Session revoked',
};

interface VerifyErrorDetails {
  /** The claim (or header parameter, for `typ`) whose check failed. */
  claim?: string;
  /** `missing`: absent; `invalid`: present with the wrong type; `check_failed`: the value is refused. */
  reason?: ClaimFailure;
  cause?: unknown;
}

/**
 * The token was refused: answer 401. Safe to show the client (`expose`). A failed claim check also names the
 * `claim` and the `reason`, for logs and metrics; the response carries only the `code`.
 */
export class VerifyError extends Error {
  readonly code: VerifyErrorCode;
  readonly status = 401;
  readonly expose = true;
  readonly title: string;
  readonly claim: string | undefined;
  readonly reason: ClaimFailure | undefined;

  constructor(code: VerifyErrorCode, details: VerifyErrorDetails = {}) {
    super(details.claim ? `${TITLES[code]} (${details.claim}: ${details.reason})` : TITLES[code], {
      cause: details.cause,
    });
    this.name = 'VerifyError';
    this.code = code;
    this.title = TITLES[code];
    this.claim = details.claim;
    this.reason = details.reason;
  }
}

/** No key set could be loaded yet: the token cannot be judged, answer 503 (never 401). */
export class KeySetUnavailableError extends Error {
  readonly code = 'keys_unavailable';
  readonly status = 503;
  readonly expose = true;
  readonly title = 'Verification keys unavailable';

  constructor(cause?: unknown) {
    super('Verification keys unavailable', { cause });
    this.name = 'KeySetUnavailableError';
  }
}

/** The token is fine but the role it carries is not enough: answer 403. */
export class InsufficientScopeError extends Error {
  readonly code = 'insufficient_scope';
  readonly status = 403;
  readonly expose = true;
  readonly title = 'Insufficient scope';

  readonly requiredRole: string;

  constructor(requiredRole: string) {
    super(`Requires role ${requiredRole}`);
    this.requiredRole = requiredRole;
    this.name = 'InsufficientScopeError';
  }
}
