/** Admin use cases: list and update users, stage a signing key, read the audit trail. */
import type { AccountDeps, RequestMeta } from './accounts.ts';
import { invalidCursor, lastAdmin, notAdmin, userNotFound } from './errors.ts';
import { isValidUsername } from './usernames.ts';

export const ROLES = ['user', 'admin'] as const;

const audit = (deps: AccountDeps, meta: RequestMeta, event: Parameters<AccountDeps['events']['record']>[0]) =>
  deps.events.record({ ...event, ip: meta.ip, userAgent: meta.userAgent, requestId: meta.requestId });

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
  deps: AccountDeps,
  userId: string,
): Promise<'admin' | 'not_admin' | 'inactive'> {
  const user = await deps.users.findById(userId);
  if (!user || user.disabled) return 'inactive';
  return user.roles.includes('admin') ? 'admin' : 'not_admin';
}

export async function listUsers(deps: AccountDeps, page: { limit: number; cursor?: string | undefined }) {
  const rows = await deps.users.list(page.limit + 1, fromCursor('users', page.cursor));
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
 * (403 otherwise: their token may predate a demotion), and no change may leave no active admin (409
 * `last_admin`), whoever makes it. Removing a role or disabling ends every session of the user at once;
 * re-enabling is audited like disabling.
 */
export async function updateUser(
  deps: AccountDeps,
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
    ({ actor: current, before, activeAdminsAfter }) => {
      if (!current || current.disabled || !current.roles.includes('admin')) throw notAdmin();
      const wasActiveAdmin = before.roles.includes('admin') && !before.disabled;
      if (wasActiveAdmin && activeAdminsAfter === 0) throw lastAdmin();
    },
  );
  if (!result) throw userNotFound();
  const { before, after } = result;
  const rolesRemoved = before.roles.filter((role) => !after.roles.includes(role));
  const disabledNow = after.disabled && !before.disabled;
  // Ends sessions created before the change; a login racing with it re-reads the account (see `login`).
  const revoked = rolesRemoved.length > 0 || after.disabled ? await deps.sessions.revokeAll(after.id) : 0;
  if (roles && before.roles.join() !== after.roles.join()) {
    // Cookie sessions: the next request mints a token with the new roles (no cached one with the old), and the
    // cookie gets a new value (a privilege change).
    await deps.sessions.privilegesChanged(after.id);
    await audit(deps, meta, {
      type: 'role_change',
      userId: after.id,
      username: after.username,
      details: { from: before.roles, to: after.roles, by: actor.username, revoked },
    });
  }
  if (disabledNow) {
    await audit(deps, meta, {
      type: 'user_disabled',
      userId: after.id,
      username: after.username,
      details: { by: actor.username, revoked },
    });
  }
  if (before.disabled && !after.disabled) {
    await audit(deps, meta, {
      type: 'user_enabled',
      userId: after.id,
      username: after.username,
      details: { by: actor.username },
    });
  }
  return { id: after.id, username: after.username, roles: after.roles, disabled: after.disabled };
}

export async function rotateSigningKey(deps: AccountDeps, actor: { username: string }, meta: RequestMeta) {
  const staged = await deps.keyring.rotate();
  await audit(deps, meta, { type: 'key_rotation', details: { kid: staged.kid, by: actor.username } });
  return { kid: staged.kid, alg: staged.alg, activates_at: staged.activatesAt.toISOString() };
}

export async function listEvents(
  deps: AccountDeps,
  filter: {
    type?: string | undefined;
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
