/**
 * Use cases on sessions: refresh (rotation with reuse detection), logout, logout-all, listing and
 * revoking sessions, password change. Plain data in and out.
 */

import type { SessionView } from '../store/sessions.ts';
import { audit } from './audit.ts';
import type { UseCaseDeps } from './deps.ts';
import { invalidCredentials, invalidGrant, sessionNotFound, weakPassword, withinLimits } from './errors.ts';
import { checkPasswordPolicy } from './passwords.ts';
import type { RequestMeta } from './request-meta.ts';
import {
  hashRefreshToken,
  type IssuedTokens,
  issueTokens,
  newRefreshToken,
  parseRefreshToken,
} from './tokens.ts';

/** Generations are a uint32 in the token; a session would need 4 billion refreshes to get there. */
const MAX_GENERATION = 0xffff_ffff;

/**
 * Swap a refresh token for a new pair. The session is looked up and the user read first (so a database outage
 * answers 503 before the token is spent), then the rotation runs atomically in Redis. Presenting an older token
 * of the session is reuse: the whole session is revoked, its newest refresh token with it, and a
 * `refresh_reuse` event is written. A token in an older format, or one that does not carry the session's family
 * secret, is `invalid_grant` and changes nothing.
 */
export async function refresh(
  deps: Pick<
    UseCaseDeps,
    'sessions' | 'users' | 'events' | 'keyring' | 'tokens' | 'refreshIdleTtl' | 'now' | 'observe'
  >,
  refreshToken: string,
  meta: RequestMeta,
): Promise<IssuedTokens> {
  const token = parseRefreshToken(refreshToken);
  if (!token || token.generation >= MAX_GENERATION) throw invalidGrant();
  const familyHash = hashRefreshToken(token.family);
  if (!(await deps.sessions.peek(token.userId, token.sessionId, familyHash))) throw invalidGrant();
  const user = await deps.users.findById(token.userId);
  if (!user || user.disabled) {
    await deps.sessions.revoke(token.userId, token.sessionId);
    throw invalidGrant();
  }
  const next = newRefreshToken({ ...token, generation: token.generation + 1 });
  const result = await deps.sessions.rotate(
    { userId: token.userId, sid: token.sessionId, tokenHash: hashRefreshToken(refreshToken), familyHash },
    hashRefreshToken(next),
    { now: deps.now(), ip: meta.ip, userAgent: meta.userAgent },
  );
  if (result.outcome === 'reuse') {
    deps.observe?.refreshReuse?.();
    await audit(deps, meta, {
      type: 'refresh_reuse',
      userId: user.id,
      username: user.username,
      details: {
        sid: token.sessionId,
        action: 'session_revoked',
        generation: token.generation,
        current_generation: result.currentGeneration,
      },
    });
    throw invalidGrant();
  }
  if (result.outcome !== 'rotated') throw invalidGrant();
  return issueTokens(deps, user, token.sessionId, next);
}

/**
 * Revoke one session by its id (from an access token) or by a refresh token of it (the current one or an
 * older one: the family secret proves the caller held one). Idempotent.
 */
export async function logout(
  deps: Pick<UseCaseDeps, 'sessions' | 'events'>,
  target: { userId: string; sid: string } | { refreshToken: string },
  meta: RequestMeta,
): Promise<void> {
  let session: { userId: string; sid: string } | undefined;
  if ('sid' in target) session = target;
  else {
    const token = parseRefreshToken(target.refreshToken);
    if (token && (await deps.sessions.peek(token.userId, token.sessionId, hashRefreshToken(token.family))))
      session = { userId: token.userId, sid: token.sessionId };
  }
  if (!session) return;
  if (await deps.sessions.revoke(session.userId, session.sid))
    await audit(deps, meta, { type: 'logout', userId: session.userId, details: { sid: session.sid } });
}

export async function logoutAll(
  deps: Pick<UseCaseDeps, 'sessions' | 'events'>,
  userId: string,
  meta: RequestMeta,
): Promise<number> {
  const revoked = await deps.sessions.revokeAll(userId);
  await audit(deps, meta, { type: 'logout_all', userId, details: { revoked } });
  return revoked;
}

/** A live session as the API shows it (the owner's list and the admin's). */
export interface SessionSummary {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string;
  user_agent: string;
  /** Opened with a session cookie (it also has a refresh token). */
  cookie: boolean;
}

export const sessionSummary = (s: SessionView): SessionSummary => ({
  id: s.id,
  created_at: new Date(s.createdAt).toISOString(),
  last_used_at: new Date(s.lastUsedAt).toISOString(),
  ip: s.ip,
  user_agent: s.userAgent,
  cookie: s.cookie,
});

/** The caller's live sessions, the one the call came in marked `current`. */
export async function listSessions(
  deps: Pick<UseCaseDeps, 'sessions'>,
  userId: string,
  currentSid: string,
): Promise<(SessionSummary & { current: boolean })[]> {
  const sessions = await deps.sessions.list(userId);
  return sessions.map((s) => ({ ...sessionSummary(s), current: s.id === currentSid }));
}

/** Revoke one of the caller's own sessions; someone else's id is indistinguishable from an unknown one (404). */
export async function revokeOwnSession(
  deps: Pick<UseCaseDeps, 'sessions' | 'events'>,
  userId: string,
  sid: string,
  meta: RequestMeta,
): Promise<void> {
  if (!(await deps.sessions.revoke(userId, sid))) throw sessionNotFound();
  await audit(deps, meta, { type: 'logout', userId, details: { sid, via: 'session_list' } });
}

/**
 * Change the password: the current one is checked (under the login limits, so a stolen access token cannot
 * be used to guess it), the policy applied to the new one, and every other session revoked.
 */
export async function changePassword(
  deps: Pick<UseCaseDeps, 'users' | 'sessions' | 'events' | 'admission' | 'limits' | 'passwords'>,
  caller: { userId: string; sid: string },
  input: { currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<{ revoked: number }> {
  const user = await deps.users.findById(caller.userId);
  if (!user || user.disabled) throw invalidCredentials();
  // Two hashes (check the current password, hash the new one) under one admission slot; shed before the limits.
  const ticket = deps.admission.admit('password_change', meta.ip, user.username);
  let newHash: string;
  try {
    const attempt = await withinLimits(deps.limits.reserveLogin(user.username, meta.ip));
    let ok: boolean;
    try {
      ok = (await deps.passwords.verify(input.currentPassword, user.passwordHash)).matches;
    } catch (error) {
      await attempt.release();
      throw error;
    }
    if (!ok) {
      await attempt.failed();
      await audit(deps, meta, {
        type: 'password_change_failure',
        userId: user.id,
        username: user.username,
        details: { reason: 'wrong_password', sid: caller.sid },
      });
      throw invalidCredentials();
    }
    await attempt.succeeded();
    const violations = checkPasswordPolicy(input.newPassword, user.username);
    if (violations.length > 0) throw weakPassword(violations);
    newHash = await deps.passwords.hash(input.newPassword);
  } finally {
    ticket.release();
  }
  await deps.users.updatePassword(user.id, newHash);
  const revoked = await deps.sessions.revokeAll(user.id, caller.sid);
  await audit(deps, meta, {
    type: 'password_change',
    userId: user.id,
    username: user.username,
    details: { revoked },
  });
  return { revoked };
}
