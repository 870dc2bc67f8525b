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
import type { Admission, AdmissionTicket } from './admission.ts';
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
  /** Admission control in front of bcrypt: 503 `overloaded` before any work when the queue is full. */
  admission: Admission;
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
    login?: (outcome: 'success' | 'invalid_credentials' | 'rate_limited' | 'overloaded') => void;
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
  const username = normalizeUsername(input.username);
  // Shed first (memory only), so a shed registration does not spend the address's registration budget.
  const ticket = deps.admission.admit('register', meta.ip, username.slice(0, 64));
  let passwordHash: string;
  try {
    await deps.limits.reserveRegistration(meta.ip);
    if (!isValidUsername(username)) throw invalidUsername(USERNAME_RULE);
    const violations = checkPasswordPolicy(input.password, username);
    if (violations.length > 0) throw weakPassword(violations);
    passwordHash = await timed(deps, 'hash', () => deps.passwords.hash(input.password));
  } finally {
    ticket.release();
  }
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
 * see `passwords.ts`) and give the same error. Checks run cheapest first: admission (memory; 503 `overloaded`,
 * not an attempt), then the abuse limits (Redis; the attempt is counted before the password is checked, and
 * successes are counted too, see `limits.ts`), then the database and bcrypt.
 */
export async function login(
  deps: AccountDeps,
  input: { username: string; password: string },
  meta: RequestMeta,
  options: { cookie?: boolean } = {},
): Promise<IssuedTokens> {
  const username = normalizeUsername(input.username);
  let ticket: AdmissionTicket;
  try {
    ticket = deps.admission.admit('login', meta.ip, username.slice(0, 64));
  } catch (error) {
    deps.observe?.login?.('overloaded');
    throw error;
  }
  try {
    return await admittedLogin(deps, input, meta, username, ticket, options);
  } finally {
    ticket.release();
  }
}

async function admittedLogin(
  deps: AccountDeps,
  input: { username: string; password: string },
  meta: RequestMeta,
  username: string,
  ticket: AdmissionTicket,
  options: { cookie?: boolean },
): Promise<IssuedTokens> {
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
  if (!(matches && verification.needsUpgrade)) ticket.release(); // bcrypt work done: free the slot

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
    ticket.release();
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
    // A disable or password change may have landed during the bcrypt time above, and revoked the user's
    // sessions before this one existed. Read the account again now that the session exists: either this
    // read sees the change, or the change's revocation comes later and ends the session.
    const current = await deps.users.findById(user.id);
    if (!current || current.disabled || current.credentialsVersion !== user.credentialsVersion) {
      await deps.sessions.revoke(user.id, sessionId);
      deps.observe?.login?.('invalid_credentials');
      await audit(deps, meta, {
        type: 'login_failure',
        userId: user.id,
        username: user.username,
        details: { reason: 'account_changed_during_login' },
      });
      throw invalidCredentials(); // not counted as a failed guess: the catch below gives the points back
    }
    await deps.users.recordLogin(user.id, upgradedHash, user.credentialsVersion);
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
    const issued = issueTokens(deps, current, sessionId, refreshToken);
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

/**
 * Create the configured admin once. The bootstrap never takes over an account it did not create (start-up
 * stops with a message naming the variable), and never touches the account it did create again: from then
 * on its roles, disabled flag and password are the admins' and the user's decisions.
 */
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
  if (await deps.users.isBootstrapAdmin(username)) return { created: false, username };
  const result = await deps.users.createBootstrapAdmin(username, await deps.passwords.hash(admin.password));
  if (result.outcome !== 'created') {
    if (result.outcome === 'bootstrapped') return { created: false, username }; // another replica was first
    throw new Error(
      `BOOTSTRAP_ADMIN_USERNAME: an account named "${username}" already exists and was not created by the ` +
        'bootstrap; it is never promoted at start-up. Choose another name, or unset BOOTSTRAP_ADMIN_USERNAME ' +
        'and BOOTSTRAP_ADMIN_PASSWORD (an admin can grant the role with PATCH /auth/admin/users/{id}).',
    );
  }
  await deps.events.record({
    type: 'admin_bootstrap',
    userId: result.user.id,
    username,
    details: { created: true },
  });
  return { created: true, username };
}
