/**
 * Use cases: register and log in. Plain functions over plain data; no `req`/`res`, no SQL.
 */
import { randomUUID } from 'node:crypto';
import { HttpProblem } from '@authstack/http-problem';
import type { Keyring } from '../keys/keyring.ts';
import type { Limits, LoginAttempt } from '../limits.ts';
import type { AuthEvent, EventStore } from '../store/events.ts';
import type { SessionStore } from '../store/sessions.ts';
import { UsernameTakenError, type UserRow, type UserStore } from '../store/users.ts';
import { invalidCredentials, invalidUsername, usernameTaken, weakPassword } from './errors.ts';
import { checkPasswordPolicy, type PasswordHasher, type Verification } from './passwords.ts';
import {
  hashRefreshToken,
  newRefreshToken,
  newSessionCookie,
  newTokenFamily,
  signAccessToken,
  type TokenSettings,
} from './tokens.ts';
import { isValidUsername, normalizeUsername, USERNAME_RULE } from './usernames.ts';

export interface RequestMeta {
  ip: string;
  userAgent: string;
  requestId: string | undefined;
}

export interface AccountDeps {
  users: UserStore;
  events: EventStore;
  sessions: SessionStore;
  keyring: Keyring;
  limits: Limits;
  /** Peppered bcrypt at the configured cost, equal work on every refused login (see `passwords.ts`). */
  passwords: PasswordHasher;
  tokens: TokenSettings;
  refreshIdleTtl: number;
  /** Seconds a cookie session's minted access token is served again (0: every exchange signs). */
  cookieTokenCache: number;
  now: () => number;
  /** Observes bcrypt time and login outcomes (metrics). */
  observe?: {
    bcrypt?: (op: 'hash' | 'compare', seconds: number) => void;
    login?: (outcome: 'success' | 'invalid_credentials' | 'rate_limited') => void;
    refreshReuse?: () => void;
    /** The gateway's cookie exchange: a cached token served, a token minted, or the cookie refused. */
    cookieExchange?: (outcome: 'cached' | 'minted' | 'invalid_session') => void;
  };
}

export interface PublicUser {
  id: string;
  username: string;
  roles: string[];
}

export const publicUser = (user: UserRow): PublicUser => ({
  id: user.id,
  username: user.username,
  roles: user.roles,
});

async function timed<T>(deps: AccountDeps, op: 'hash' | 'compare', work: () => Promise<T>): Promise<T> {
  const start = process.hrtime.bigint();
  try {
    return await work();
  } finally {
    deps.observe?.bcrypt?.(op, Number(process.hrtime.bigint() - start) / 1e9);
  }
}

function audit(
  deps: AccountDeps,
  meta: RequestMeta,
  event: Omit<AuthEvent, 'ip' | 'userAgent' | 'requestId'>,
) {
  return deps.events.record({ ...event, ip: meta.ip, userAgent: meta.userAgent, requestId: meta.requestId });
}

export async function register(
  deps: AccountDeps,
  input: { username: string; password: string },
  meta: RequestMeta,
  roles: string[] = ['user'],
): Promise<PublicUser> {
  await deps.limits.reserveRegistration(meta.ip);
  const username = normalizeUsername(input.username);
  if (!isValidUsername(username)) throw invalidUsername(USERNAME_RULE);
  const violations = checkPasswordPolicy(input.password, username);
  if (violations.length > 0) throw weakPassword(violations);
  const passwordHash = await timed(deps, 'hash', () => deps.passwords.hash(input.password));
  let user: UserRow;
  try {
    user = await deps.users.insert({ username, passwordHash, roles });
  } catch (error) {
    if (error instanceof UsernameTakenError) throw usernameTaken();
    throw error;
  }
  await audit(deps, meta, { type: 'register', userId: user.id, username });
  return publicUser(user);
}

export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  sessionId: string;
  user: PublicUser;
  /** The session cookie's value, when the login opened a cookie session. */
  sessionCookie?: string;
}

/**
 * Unknown user, wrong password and disabled user take the same bcrypt work (that of the highest cost in use,
 * see `passwords.ts`) and give the same error. The attempt is counted by the abuse limits before the password
 * is checked, and successes are counted too (see `limits.ts`).
 */
export async function login(
  deps: AccountDeps,
  input: { username: string; password: string },
  meta: RequestMeta,
  options: { cookie?: boolean } = {},
): Promise<IssuedTokens> {
  const username = normalizeUsername(input.username);
  let attempt: LoginAttempt;
  try {
    attempt = await deps.limits.reserveLogin(username.slice(0, 64), meta.ip);
  } catch (error) {
    if (error instanceof HttpProblem && error.status === 429) deps.observe?.login?.('rate_limited');
    throw error;
  }

  let user: UserRow | undefined;
  let verification: Verification;
  try {
    user = isValidUsername(username) ? await deps.users.findByUsername(username) : undefined;
    verification = await timed(deps, 'compare', async () => {
      const result = await deps.passwords.verify(input.password, user?.passwordHash);
      if (!result.matches || user?.disabled) await deps.passwords.equalise(result);
      return result;
    });
  } catch (error) {
    await attempt.release(); // not judged (e.g. database down): not a failed attempt
    throw error;
  }
  const matches = verification.matches;

  if (!user || !matches || user.disabled) {
    await attempt.failed();
    const reason = !user ? 'unknown_user' : user.disabled && matches ? 'disabled' : 'wrong_password';
    deps.observe?.login?.('invalid_credentials');
    await audit(deps, meta, {
      type: 'login_failure',
      userId: user?.id,
      // Only a well-formed name is recorded: what fails the username rule may be a password typed in the wrong field.
      username: isValidUsername(username) ? username : undefined,
      details: { reason: isValidUsername(username) ? reason : 'invalid_username' },
    });
    throw invalidCredentials();
  }

  try {
    const upgradedHash = verification.needsUpgrade
      ? await timed(deps, 'hash', () => deps.passwords.hash(input.password))
      : undefined;
    const sessionId = randomUUID();
    const family = newTokenFamily();
    const refreshToken = newRefreshToken({ userId: user.id, sessionId, generation: 1, family });
    // Always a new value: a cookie known before the login is never the one used after it (no fixation).
    const sessionCookie = options.cookie ? newSessionCookie({ userId: user.id, sessionId }) : undefined;
    const evicted = await deps.sessions.create(
      { sid: sessionId, userId: user.id, createdAt: deps.now(), ip: meta.ip, userAgent: meta.userAgent },
      { generation: 1, tokenHash: hashRefreshToken(refreshToken), familyHash: hashRefreshToken(family) },
      sessionCookie ? hashRefreshToken(sessionCookie) : undefined,
    );
    await deps.users.recordLogin(user.id, upgradedHash);
    await audit(deps, meta, {
      type: 'login_success',
      userId: user.id,
      username: user.username,
      details: {
        sid: sessionId,
        ...(sessionCookie ? { cookie: true } : {}),
        ...(upgradedHash ? { rehashed: true } : {}),
        // Sessions ended because the account reached SESSIONS_MAX_PER_USER (oldest first).
        ...(evicted.length > 0 ? { evicted } : {}),
      },
    });
    await attempt.succeeded();
    deps.observe?.login?.('success');
    const issued = issueTokens(deps, user, sessionId, refreshToken);
    return sessionCookie ? { ...issued, sessionCookie } : issued;
  } catch (error) {
    await attempt.release();
    throw error;
  }
}

/** The response of login and refresh: a new access token for the session, and its refresh token. */
export function issueTokens(
  deps: AccountDeps,
  user: UserRow,
  sessionId: string,
  refreshToken: string,
): IssuedTokens {
  const accessToken = signAccessToken(
    { userId: user.id, username: user.username, roles: user.roles, sessionId },
    deps.keyring.signingKey(),
    deps.tokens,
    deps.now(),
  );
  return {
    accessToken,
    expiresIn: deps.tokens.ttl,
    refreshToken,
    refreshExpiresIn: deps.refreshIdleTtl,
    sessionId,
    user: publicUser(user),
  };
}

/** Create the configured admin, or grant the admin role to an existing account. Idempotent. */
export async function bootstrapAdmin(
  deps: AccountDeps,
  admin: { username: string; password: string },
): Promise<{ created: boolean; username: string }> {
  const username = normalizeUsername(admin.username);
  if (!isValidUsername(username)) throw new Error(`BOOTSTRAP_ADMIN_USERNAME: must be ${USERNAME_RULE}`);
  const violations = checkPasswordPolicy(admin.password, username);
  if (violations.length > 0) {
    throw new Error(`BOOTSTRAP_ADMIN_PASSWORD: ${violations.map((v) => v.message).join(' ')}`);
  }
  const existing = await deps.users.findByUsername(username);
  if (existing?.roles.includes('admin')) return { created: false, username };
  const passwordHash = existing ? existing.passwordHash : await deps.passwords.hash(admin.password);
  const { created, user } = await deps.users.upsertAdmin(username, passwordHash);
  await deps.events.record({ type: 'admin_bootstrap', userId: user.id, username, details: { created } });
  return { created, username };
}
