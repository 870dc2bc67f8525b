/**
 * The auth service's catalogue of client-facing problems, one factory per code. Codes are stable; tests assert them.
 * A use case tells one refusal from any other error by its code (`isProblem`), never by its HTTP status.
 */
import { HttpProblem } from '@authstack/http-problem';
import { LimitReached } from '../store/limits.ts';
import type { PolicyViolation } from './passwords.ts';

export const invalidInput = (detail: string, errors?: { field: string; message: string }[]) =>
  new HttpProblem({
    status: 400,
    code: 'invalid_input',
    title: 'Invalid input',
    detail,
    ...(errors ? { extra: { errors } } : {}),
  });

export const invalidUsername = (rule: string) =>
  new HttpProblem({
    status: 400,
    code: 'invalid_username',
    title: 'Invalid username',
    detail: `Usernames are ${rule}.`,
  });

/** Weak password: the first reason is the code, every reason is listed. */
export const weakPassword = (violations: PolicyViolation[]) =>
  new HttpProblem({
    status: 400,
    code: violations[0]!.code,
    title: 'Password rejected',
    detail: violations.map((v) => v.message).join(' '),
    extra: { reasons: violations },
  });

export const usernameTaken = () =>
  new HttpProblem({
    status: 409,
    code: 'username_taken',
    title: 'Username taken',
    detail: 'Choose another username.',
  });

/** The same answer for unknown user, wrong password and disabled user. */
export const invalidCredentials = () =>
  new HttpProblem({
    status: 401,
    code: 'invalid_credentials',
    title: 'Invalid credentials',
    detail: 'The username or password is incorrect.',
  });

/** Is `error` the catalogue's problem `code`? */
export const isProblem = (error: unknown, code: string): error is HttpProblem =>
  error instanceof HttpProblem && error.code === code;

/** An abuse limit is reached (`store/limits.ts`: login, password change, registration): 429 with `Retry-After`. */
export const tooManyAttempts = (retryAfterSec: number) =>
  new HttpProblem({
    status: 429,
    code: 'too_many_attempts',
    title: 'Too many attempts',
    detail: `Too many attempts; try again in ${retryAfterSec} seconds.`,
    headers: { 'Retry-After': String(retryAfterSec) },
    extra: { retry_after: retryAfterSec },
  });

/** A reservation on the abuse limits; their refusal (`LimitReached`) becomes `too_many_attempts`. */
export async function withinLimits<T>(reservation: Promise<T>): Promise<T> {
  try {
    return await reservation;
  } catch (error) {
    throw error instanceof LimitReached ? tooManyAttempts(error.retryAfterSec) : error;
  }
}

/** RFC 6749 section 5.2: the refresh token is unknown, expired, revoked or reused. */
export const invalidGrant = () =>
  new HttpProblem({
    status: 401,
    code: 'invalid_grant',
    title: 'Invalid grant',
    detail: 'The refresh token is invalid, expired or revoked. Log in again.',
  });

/** A valid token or cookie of an account that no longer exists or was disabled (read now, not from the token). */
export const accountInactive = () =>
  new HttpProblem({ status: 401, code: 'invalid_token', title: 'Account no longer active' });

export const sessionNotFound = () =>
  new HttpProblem({ status: 404, code: 'session_not_found', title: 'Session not found' });

export const userNotFound = () =>
  new HttpProblem({ status: 404, code: 'user_not_found', title: 'User not found' });

export const lastAdmin = () =>
  new HttpProblem({
    status: 409,
    code: 'last_admin',
    title: 'Last admin',
    detail: 'No change may leave the system without an active admin.',
  });

/** The caller's account (read now, not from the token) is not an active admin. */
export const notAdmin = () =>
  new HttpProblem({
    status: 403,
    code: 'insufficient_scope',
    title: 'Insufficient scope',
    detail: 'Requires role admin.',
  });

/** A page cursor the server did not issue. */
export const invalidCursor = () =>
  new HttpProblem({
    status: 400,
    code: 'invalid_cursor',
    title: 'Invalid cursor',
    detail: 'Use the next_cursor of a previous page of the same list, or no cursor.',
  });

/**
 * Admission control (see `admission.ts`): the password-hashing queue is full, or this client or account holds
 * its share of it. Sent before any bcrypt work; not a failed attempt.
 */
export const overloaded = (retryAfterSec: number) =>
  new HttpProblem({
    status: 503,
    code: 'overloaded',
    title: 'Overloaded',
    detail: `Too many password checks are in progress; try again in ${retryAfterSec} seconds.`,
    headers: { 'Retry-After': String(retryAfterSec) },
    extra: { retry_after: retryAfterSec },
  });

/** The request's client address is not an address the service can count and record (`request-meta.ts`). */
export const clientAddressUnknown = () =>
  new HttpProblem({
    status: 400,
    code: 'client_address_unknown',
    title: 'Client address unknown',
    detail: 'The client address of this request cannot be determined.',
  });

/** The session cookie is unknown, expired or revoked (or its account was disabled). */
export const invalidSession = () =>
  new HttpProblem({
    status: 401,
    code: 'invalid_session',
    title: 'Session ended or unknown',
    detail: 'The session cookie is unknown, expired or revoked. Log in again.',
  });

/** A state-changing request authenticated by the session cookie came from another site (CSRF). */
export const crossSiteRequest = () =>
  new HttpProblem({
    status: 403,
    code: 'cross_site_request',
    title: 'Cross-site request refused',
    detail: 'A request that changes state with the session cookie must come from this site.',
  });
