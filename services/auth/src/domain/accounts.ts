/**
 * Use cases: register, log in, the caller's account (`/auth/me`), the admin bootstrap. Plain functions over plain
 * data; no `req`/`res`, no SQL.
 */
import { randomUUID } from 'node:crypto';
import type { HttpProblem } from '@authstack/http-problem';
import type { LoginAttempt } from '../store/limits.ts';
import { UsernameTakenError, type UserRow } from '../store/users.ts';
import type { AdmissionTicket } from './admission.ts';
import { audit } from './audit.ts';
import type { UseCaseDeps } from './deps.ts';
import {
  accountInactive,
  invalidCredentials,
  invalidUsername,
  isProblem,
  usernameTaken,
  weakPassword,
  withinLimits,
} from './errors.ts';
import { checkPasswordPolicy, type Verification } from './passwords.ts';
import type { RequestMeta } from './request-meta.ts';
import {
  hashRefreshToken,
  type IssuedTokens,
  issueTokens,
  newRefreshToken,
  newSessionCookie,
  newTokenFamily,
} from './tokens.ts';
import { isValidUsername, normalizeUsername, USERNAME_RULE } from './usernames.ts';

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

/** `GET /auth/me`: the caller's account as it is now (not as the token says), and the session the call came in. */
export async function currentAccount(
  deps: Pick<UseCaseDeps, 'users'>,
  caller: { userId: string; sid: string },
) {
  const user = await deps.users.findById(caller.userId);
  if (!user || user.disabled) throw accountInactive();
  return {
    ...publicUser(user),
    created_at: user.createdAt.toISOString(),
    last_login_at: user.lastLoginAt?.toISOString() ?? null,
    session_id: caller.sid,
  };
}

async function timed<T>(
  deps: Pick<UseCaseDeps, 'observe'>,
  op: 'hash' | 'compare',
  work: () => Promise<T>,
): Promise<T> {
  const start = process.hrtime.bigint();
  try {
    return await work();
  } finally {
    deps.observe?.bcrypt?.(op, Number(process.hrtime.bigint() - start) / 1e9);
  }
}

export type RegisterDeps = Pick<
  UseCaseDeps,
  'users' | 'events' | 'limits' | 'admission' | 'passwords' | 'observe'
>;

export async function register(
  deps: RegisterDeps,
  input: { username: string; password: string },
  meta: RequestMeta,
  roles: string[] = ['user'],
): Promise<PublicUser> {
  const username = normalizeUsername(input.username);
  // Shed first (memory only), so a shed registration does not spend the address's registration budget.
  const ticket = deps.admission.admit('register', meta.ip, username.slice(0, 64));
  let passwordHash: string;
  try {
    await withinLimits(deps.limits.reserveRegistration(meta.ip));
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

/** A login's tokens, and the session cookie's value when the login opened a cookie session. */
export type LoginResult = IssuedTokens & { sessionCookie?: string };

/**
 * Unknown user, wrong password and disabled user take the same bcrypt work (that of the highest cost in use,
 * see `passwords.ts`) and give the same error. Checks run cheapest first: admission (memory; 503 `overloaded`,
 * not an attempt), then the abuse limits (Redis; the attempt is counted before the password is checked, and
 * successes are counted too, see `limits.ts`), then the database and bcrypt.
 */
/** Everything a login touches: the account, the limits and admission, bcrypt, the session and its tokens. */
export type LoginDeps = Pick<
  UseCaseDeps,
  | 'users'
  | 'events'
  | 'sessions'
  | 'keyring'
  | 'limits'
  | 'admission'
  | 'passwords'
  | 'tokens'
  | 'refreshIdleTtl'
  | 'now'
  | 'observe'
>;

export async function login(
  deps: LoginDeps,
  input: { username: string; password: string },
  meta: RequestMeta,
  options: { cookie?: boolean } = {},
): Promise<LoginResult> {
  const username = normalizeUsername(input.username);
  const ticket = admitLogin(deps, meta, username);
  try {
    const attempt = await reserveAttempt(deps, meta, username);
    const { user, verification } = await checkCredentials(deps, attempt, username, input.password);
    if (!(verification.matches && verification.needsUpgrade)) ticket.release(); // bcrypt work done: free the slot
    if (!user || !verification.matches || user.disabled) {
      await attempt.failed();
      throw await refusal(deps, meta, username, user, verification.matches);
    }
    return await openSession(
      deps,
      { user, verification, password: input.password, ticket, attempt },
      meta,
      options,
    );
  } finally {
    ticket.release();
  }
}

/** A slot in the password-hashing queue (`admission.ts`), or 503 `overloaded` before any other work. */
function admitLogin(
  deps: Pick<LoginDeps, 'admission' | 'observe'>,
  meta: RequestMeta,
  username: string,
): AdmissionTicket {
  try {
    return deps.admission.admit('login', meta.ip, username.slice(0, 64));
  } catch (error) {
    deps.observe?.login?.('overloaded');
    throw error;
  }
}

/** A point on every login limit (`store/limits.ts`), or `too_many_attempts` when any is at its limit. */
async function reserveAttempt(
  deps: Pick<LoginDeps, 'limits' | 'observe'>,
  meta: RequestMeta,
  username: string,
): Promise<LoginAttempt> {
  try {
    return await withinLimits(deps.limits.reserveLogin(username.slice(0, 64), meta.ip));
  } catch (error) {
    if (isProblem(error, 'too_many_attempts')) deps.observe?.login?.('rate_limited');
    throw error;
  }
}

/**
 * The account and the password's verification, with equal bcrypt work whatever the outcome (a refused login
 * spends the work of the costliest hash in use). An attempt that cannot be judged (the database is down) gives
 * its points back: it is not a failed guess.
 */
async function checkCredentials(
  deps: Pick<LoginDeps, 'users' | 'passwords' | 'observe'>,
  attempt: LoginAttempt,
  username: string,
  password: string,
): Promise<{ user: UserRow | undefined; verification: Verification }> {
  try {
    const user = isValidUsername(username) ? await deps.users.findByUsername(username) : undefined;
    const verification = await timed(deps, 'compare', async () => {
      const result = await deps.passwords.verify(password, user?.passwordHash);
      if (!result.matches || user?.disabled) await deps.passwords.equalise(result);
      return result;
    });
    return { user, verification };
  } catch (error) {
    await attempt.release();
    throw error;
  }
}

/** A refused login: audited with its reason, answered with the same `invalid_credentials` for every reason. */
async function refusal(
  deps: Pick<LoginDeps, 'events' | 'observe'>,
  meta: RequestMeta,
  username: string,
  user: UserRow | undefined,
  matches: boolean,
): Promise<HttpProblem> {
  const reason = !user ? 'unknown_user' : user.disabled && matches ? 'disabled' : 'wrong_password';
  deps.observe?.login?.('invalid_credentials');
  await audit(deps, meta, {
    type: 'login_failure',
    userId: user?.id,
    // Only a well-formed name is recorded: what fails the username rule may be a password typed in the wrong field.
    username: isValidUsername(username) ? username : undefined,
    details: { reason: isValidUsername(username) ? reason : 'invalid_username' },
  });
  return invalidCredentials();
}

/** A login whose credentials were right, on its way to a session. */
interface AcceptedLogin {
  user: UserRow;
  verification: Verification;
  password: string;
  ticket: AdmissionTicket;
  attempt: LoginAttempt;
}

/**
 * The session of an accepted login and its tokens: the hash upgraded when due, the session created, the account
 * read again, the login recorded and audited. Anything that fails once the session exists ends it (best effort)
 * before the error is answered, so no session stays behind that the client never received; the attempt's points
 * are given back.
 */
async function openSession(
  deps: LoginDeps,
  login: AcceptedLogin,
  meta: RequestMeta,
  options: { cookie?: boolean },
): Promise<LoginResult> {
  const { user, attempt } = login;
  let created: string | undefined;
  try {
    const upgradedHash = login.verification.needsUpgrade
      ? await timed(deps, 'hash', () => deps.passwords.hash(login.password))
      : undefined;
    login.ticket.release();
    const secrets = newSessionSecrets(user.id, options);
    created = secrets.sessionId;
    const evicted = await createSession(deps, user, secrets, meta);
    const current = await accountUnchanged(deps, user, secrets.sessionId, meta);
    await deps.users.recordLogin(user.id, upgradedHash, user.credentialsVersion);
    await audit(deps, meta, {
      type: 'login_success',
      userId: user.id,
      username: user.username,
      details: {
        sid: secrets.sessionId,
        ...(secrets.sessionCookie ? { cookie: true } : {}),
        ...(upgradedHash ? { rehashed: true } : {}),
        // Sessions ended because the account reached SESSIONS_MAX_PER_USER (oldest first).
        ...(evicted.length > 0 ? { evicted } : {}),
      },
    });
    await attempt.succeeded();
    deps.observe?.login?.('success');
    const issued = issueTokens(deps, current, secrets.sessionId, secrets.refreshToken);
    return secrets.sessionCookie ? { ...issued, sessionCookie: secrets.sessionCookie } : issued;
  } catch (error) {
    if (created) await deps.sessions.revoke(user.id, created).catch(() => {});
    await attempt.release();
    throw error;
  }
}

interface SessionSecrets {
  sessionId: string;
  family: Buffer;
  refreshToken: string;
  sessionCookie: string | undefined;
}

function newSessionSecrets(userId: string, options: { cookie?: boolean }): SessionSecrets {
  const sessionId = randomUUID();
  const family = newTokenFamily();
  return {
    sessionId,
    family,
    refreshToken: newRefreshToken({ userId, sessionId, generation: 1, family }),
    // Always a new value: a cookie known before the login is never the one used after it (no fixation).
    sessionCookie: options.cookie ? newSessionCookie({ userId, sessionId }) : undefined,
  };
}

/** The session in Redis (only hashes of its secrets); the ids of older sessions it evicted (the per-account cap). */
function createSession(
  deps: Pick<LoginDeps, 'sessions' | 'now'>,
  user: UserRow,
  secrets: SessionSecrets,
  meta: RequestMeta,
): Promise<string[]> {
  return deps.sessions.create(
    {
      sid: secrets.sessionId,
      userId: user.id,
      createdAt: deps.now(),
      ip: meta.ip,
      userAgent: meta.userAgent,
    },
    {
      generation: 1,
      tokenHash: hashRefreshToken(secrets.refreshToken),
      familyHash: hashRefreshToken(secrets.family),
    },
    secrets.sessionCookie ? hashRefreshToken(secrets.sessionCookie) : undefined,
  );
}

/**
 * A disable or password change may have landed during the bcrypt time, and revoked the user's sessions before
 * this one existed. The account is read again now that the session exists: either this read sees the change, or
 * the change's revocation comes later and ends the session. A changed account ends the session and refuses the
 * login, not counted as a failed guess (`openSession` gives the points back).
 */
async function accountUnchanged(
  deps: Pick<LoginDeps, 'users' | 'sessions' | 'events' | 'observe'>,
  user: UserRow,
  sessionId: string,
  meta: RequestMeta,
): Promise<UserRow> {
  const current = await deps.users.findById(user.id);
  if (current && !current.disabled && current.credentialsVersion === user.credentialsVersion) return current;
  await deps.sessions.revoke(user.id, sessionId);
  deps.observe?.login?.('invalid_credentials');
  await audit(deps, meta, {
    type: 'login_failure',
    userId: user.id,
    username: user.username,
    details: { reason: 'account_changed_during_login' },
  });
  throw invalidCredentials();
}

/**
 * Create the configured admin once. The bootstrap never takes over an account it did not create (start-up
 * stops with a message naming the variable), and never touches the account it did create again: from then
 * on its roles, disabled flag and password are the admins' and the user's decisions.
 */
export async function bootstrapAdmin(
  deps: Pick<UseCaseDeps, 'users' | 'events' | 'passwords'>,
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
  await audit(deps, undefined, {
    type: 'admin_bootstrap',
    userId: result.user.id,
    username,
    details: { created: true },
  });
  return { created: true, username };
}
