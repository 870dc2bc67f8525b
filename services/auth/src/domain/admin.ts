/**
 * Admin use cases: list, find and update users, see and end their sessions, export and import accounts, stage a
 * signing key, read the audit trail. Every change is audited with the acting admin (`by`).
 */
import {
  type AuthEventType,
  type ExportedAccount,
  type IMPORT_REFUSALS,
  type ImportAccount,
  ROLES,
} from '@authstack/contract';
import { type AuditRecord, audit, withRequest } from './audit.ts';
import type { UseCaseDeps } from './deps.ts';
import { invalidCursor, lastAdmin, notAdmin, sessionNotFound, userNotFound } from './errors.ts';
import type { RequestMeta } from './request-meta.ts';
import { sessionSummary } from './sessions.ts';
import { isValidUsername, normalizeUsername } from './usernames.ts';

export { ROLES };

/**
 * Page cursors are opaque to clients: base64url of `<list>:<position>`. One the server did not issue (wrong
 * list, not canonical base64url, not UTF-8, a position that is not a username or an event id) is 400
 * `invalid_cursor` and never reaches SQL.
 */
type CursorKind = 'users' | 'events';
const CURSOR_POSITION: Record<CursorKind, (position: string) => boolean> = {
  users: isValidUsername,
  events: (position) => /^[1-9][0-9]{0,17}$/.test(position), // a bigint identity, well inside its range
};
const cursorOf = (kind: CursorKind, position: string) =>
  Buffer.from(`${kind}:${position}`, 'utf8').toString('base64url');
function fromCursor(kind: CursorKind, cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const position = text.startsWith(`${kind}:`) ? text.slice(kind.length + 1) : undefined;
  if (position === undefined || cursorOf(kind, position) !== cursor || !CURSOR_POSITION[kind](position)) {
    throw invalidCursor();
  }
  return position;
}

/**
 * Admin authorisation from the account as it is now, never from the token's claims alone: a missing or
 * disabled account is `inactive` (its sessions count as revoked), an account without the role `not_admin`.
 */
export async function adminStanding(
  deps: Pick<UseCaseDeps, 'users'>,
  userId: string,
): Promise<'admin' | 'not_admin' | 'inactive'> {
  const user = await deps.users.findById(userId);
  if (!user || user.disabled) return 'inactive';
  return user.roles.includes('admin') ? 'admin' : 'not_admin';
}

export async function listUsers(
  deps: Pick<UseCaseDeps, 'users'>,
  page: { limit: number; cursor?: string | undefined; username?: string | undefined },
) {
  const after = fromCursor('users', page.cursor);
  // Find one by name: normalised as at login; a page of zero or one account, no next page.
  const rows =
    page.username !== undefined
      ? [await deps.users.findByUsername(normalizeUsername(page.username))].filter((u) => u !== undefined)
      : await deps.users.list(page.limit + 1, after);
  const users = rows.slice(0, page.limit).map((u) => ({
    id: u.id,
    username: u.username,
    roles: u.roles,
    disabled: u.disabled,
    created_at: u.createdAt.toISOString(),
    last_login_at: u.lastLoginAt?.toISOString() ?? null,
  }));
  const last = users.at(-1);
  return { users, next_cursor: rows.length > page.limit && last ? cursorOf('users', last.username) : null };
}

/**
 * Change a user's roles and/or disabled flag. In the same transaction the actor must still be an active admin
 * (403 otherwise: their token may predate a demotion), no change may leave no active admin (409 `last_admin`),
 * whoever makes it, and the change's audit events are written. Removing a role or disabling ends every session of
 * the user: the revocation is queued in that transaction too and carried out at once; when Redis fails after the
 * commit the admin gets 503, and the revocation is carried out by the admin's retry (whatever it asks) or by
 * `settleRevocations` on its timer, so a saved change is never left unenforced. Re-enabling is audited like
 * disabling.
 */
export async function updateUser(
  deps: Pick<UseCaseDeps, 'users' | 'sessions' | 'revocations'>,
  actor: { userId: string; username: string },
  userId: string,
  patch: { roles?: string[] | undefined; disabled?: boolean | undefined },
  meta: RequestMeta,
) {
  const roles = patch.roles ? [...new Set(['user', ...patch.roles])] : undefined;
  const result = await deps.users.update(
    userId,
    actor.userId,
    { roles, disabled: patch.disabled },
    ({ actor: current, before, after, activeAdminsAfter }) => {
      if (!current || current.disabled || !current.roles.includes('admin')) throw notAdmin();
      const wasActiveAdmin = before.roles.includes('admin') && !before.disabled;
      if (wasActiveAdmin && activeAdminsAfter === 0) throw lastAdmin();
      const rolesChanged = roles !== undefined && before.roles.join() !== after.roles.join();
      const events: AuditRecord[] = [];
      if (rolesChanged) {
        events.push({
          type: 'role_change',
          userId: after.id,
          username: after.username,
          details: { from: before.roles, to: after.roles, by: actor.username },
        });
      }
      if (after.disabled && !before.disabled) {
        events.push({
          type: 'user_disabled',
          userId: after.id,
          username: after.username,
          details: { by: actor.username },
        });
      }
      if (before.disabled && !after.disabled) {
        events.push({
          type: 'user_enabled',
          userId: after.id,
          username: after.username,
          details: { by: actor.username },
        });
      }
      return {
        events: events.map((event) => withRequest(meta, event)),
        revoke: {
          // Ends sessions created before the change; a login racing with it re-reads the account (see `login`).
          endSessions: after.disabled || before.roles.some((role) => !after.roles.includes(role)),
          // Cookie sessions: the next request mints a token with the new roles (no cached one with the old), and
          // the cookie gets a new value (a privilege change).
          privilegesChanged: rolesChanged,
        },
      };
    },
  );
  if (!result) throw userNotFound();
  await settleRevocations(deps, { userId: result.after.id });
  const { after } = result;
  return { id: after.id, username: after.username, roles: after.roles, disabled: after.disabled };
}

/**
 * Carry out the revocations account changes queued (for one account, or a batch of the oldest): end the sessions,
 * tell the cookie sessions, then drop the queued row. Redis failing leaves the row for the next attempt (503 from
 * here). Run after every change, and by the service at start-up and on a timer.
 */
export async function settleRevocations(
  deps: Pick<UseCaseDeps, 'revocations' | 'sessions'>,
  filter: { userId: string } | { limit: number },
): Promise<number> {
  const pending = await deps.revocations.pending(filter);
  // One row that keeps failing must not hold back the others: each is tried, the first failure reported after.
  let failure: unknown;
  for (const revocation of pending) {
    try {
      if (revocation.endSessions) await deps.sessions.revokeAll(revocation.userId);
      if (revocation.privilegesChanged) await deps.sessions.privilegesChanged(revocation.userId);
      await deps.revocations.done(revocation);
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
  return pending.length;
}

export async function rotateSigningKey(
  deps: Pick<UseCaseDeps, 'keyring' | 'events'>,
  actor: { username: string },
  meta: RequestMeta,
) {
  const staged = await deps.keyring.rotate();
  await audit(deps, meta, { type: 'key_rotation', details: { kid: staged.kid, by: actor.username } });
  return { kid: staged.kid, alg: staged.alg, activates_at: staged.activatesAt.toISOString() };
}

export async function listEvents(
  deps: Pick<UseCaseDeps, 'events'>,
  filter: {
    type?: AuthEventType | undefined;
    userId?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  },
) {
  const rows = await deps.events.list({
    type: filter.type,
    userId: filter.userId,
    before: fromCursor('events', filter.cursor),
    limit: filter.limit + 1,
  });
  const events = rows.slice(0, filter.limit).map((e) => ({
    id: e.id,
    occurred_at: e.occurredAt.toISOString(),
    type: e.type,
    user_id: e.userId,
    username: e.username,
    ip: e.ip,
    user_agent: e.userAgent,
    request_id: e.requestId,
    details: e.details,
  }));
  const last = events.at(-1);
  return { events, next_cursor: rows.length > filter.limit && last ? cursorOf('events', last.id) : null };
}

async function existingUser(deps: Pick<UseCaseDeps, 'users'>, userId: string) {
  const user = await deps.users.findById(userId);
  if (!user) throw userNotFound();
  return user;
}

/** An account's live sessions, newest first. */
export async function listUserSessions(deps: Pick<UseCaseDeps, 'users' | 'sessions'>, userId: string) {
  const user = await existingUser(deps, userId);
  const sessions = await deps.sessions.list(user.id);
  return {
    user: { id: user.id, username: user.username, roles: user.roles },
    sessions: sessions.map(sessionSummary),
  };
}

/** End every session of an account (all of them, or the one `sid`); audited as `sessions_revoked`. */
export async function revokeUserSessions(
  deps: Pick<UseCaseDeps, 'users' | 'sessions' | 'events'>,
  actor: { username: string },
  userId: string,
  sid: string | undefined,
  meta: RequestMeta,
): Promise<number> {
  const user = await existingUser(deps, userId);
  let revoked: number;
  if (sid === undefined) revoked = await deps.sessions.revokeAll(user.id);
  else if (await deps.sessions.revoke(user.id, sid)) revoked = 1;
  else throw sessionNotFound();
  await audit(deps, meta, {
    type: 'sessions_revoked',
    userId: user.id,
    username: user.username,
    details: { by: actor.username, revoked, ...(sid ? { sid } : {}) },
  });
  return revoked;
}

const EXPORT_PAGE = 500;

/**
 * Every account with its password hash, page by page in username order, for `GET /auth/admin/users/export`.
 * Audited as `accounts_exported` with the count once the last page is read.
 */
export async function* exportAccounts(
  deps: Pick<UseCaseDeps, 'users' | 'events'>,
  actor: { username: string },
  meta: RequestMeta,
): AsyncGenerator<ExportedAccount[]> {
  let after: string | undefined;
  let count = 0;
  for (;;) {
    const rows = await deps.users.list(EXPORT_PAGE, after);
    if (rows.length > 0) {
      count += rows.length;
      yield rows.map((u) => ({
        username: u.username,
        password_hash: u.passwordHash,
        roles: u.roles as ExportedAccount['roles'],
        disabled: u.disabled,
        created_at: u.createdAt.toISOString(),
      }));
    }
    if (rows.length < EXPORT_PAGE) break;
    after = rows.at(-1)!.username;
  }
  await audit(deps, meta, { type: 'accounts_exported', details: { by: actor.username, count } });
}

/**
 * A bcrypt hash as this stack stores it: peppered (`$hmac-sha256$2b$<cost>$<53 chars>`, which only verifies with
 * the PASSWORD_PEPPER it was made under) or plain (`$2a$`/`$2b$`, verified as is and upgraded at the next login).
 * Cost 4 to 31, the bcrypt range.
 */
const BCRYPT_HASH = /^(?:\$hmac-sha256)?\$2[ab]\$(?:0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/**
 * The costliest hash an import accepts: the highest BCRYPT_COST the service can be configured with. Every failed
 * login costs as much as the costliest stored hash (equal cost, see passwords.ts), so one imported hash of cost 31
 * would make every refused login take hours.
 */
export const MAX_IMPORT_COST = 16;
const costOf = (hash: string) => Number(/\$2[ab]\$(\d{2})\$/.exec(hash)![1]);

type ImportRefusal = { index: number; username: string; reason: (typeof IMPORT_REFUSALS)[number] };

/**
 * Create accounts with their hashes. Each account is checked on its own: a name that is not valid once
 * normalised, a malformed hash, a hash costlier than MAX_IMPORT_COST, an unknown role, or a name already taken (in
 * the database or earlier in the same batch) is refused and reported; the others are created. Audited as
 * `accounts_imported`, naming the accounts imported as admins.
 */
export async function importAccounts(
  deps: Pick<UseCaseDeps, 'users' | 'events'>,
  actor: { username: string },
  accounts: ImportAccount[],
  meta: RequestMeta,
): Promise<{ imported: number; refused: ImportRefusal[] }> {
  const refused: ImportRefusal[] = [];
  const seen = new Set<string>();
  const admins: string[] = [];
  let imported = 0;
  for (const [index, account] of accounts.entries()) {
    const username = normalizeUsername(account.username);
    const refuse = (reason: ImportRefusal['reason']) =>
      refused.push({ index, username: account.username, reason });
    if (!isValidUsername(username)) refuse('invalid_username');
    else if (!BCRYPT_HASH.test(account.password_hash)) refuse('malformed_hash');
    else if (costOf(account.password_hash) > MAX_IMPORT_COST) refuse('cost_too_high');
    else if (!(account.roles ?? []).every((role) => (ROLES as readonly string[]).includes(role)))
      refuse('invalid_roles');
    else if (seen.has(username)) refuse('duplicate');
    else {
      seen.add(username);
      const created = await deps.users.insertImported({
        username,
        passwordHash: account.password_hash,
        roles: [...new Set(['user', ...(account.roles ?? [])])],
        disabled: account.disabled ?? false,
        createdAt: account.created_at ? new Date(account.created_at) : undefined,
      });
      if (!created) refuse('duplicate');
      else {
        imported += 1;
        if (created.roles.includes('admin')) admins.push(created.username);
      }
    }
  }
  await audit(deps, meta, {
    type: 'accounts_imported',
    // Accounts imported with the admin role are named: an import can grant admin.
    details: {
      by: actor.username,
      imported,
      refused: refused.length,
      ...(admins.length > 0 ? { admins } : {}),
    },
  });
  return { imported, refused };
}
