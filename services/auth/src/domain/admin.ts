/** Admin use cases: list and update users, stage a signing key, read the audit trail. */
import type { AccountDeps, RequestMeta } from './accounts.ts';
import { lastAdmin, userNotFound } from './errors.ts';

export const ROLES = ['user', 'admin'] as const;

const audit = (deps: AccountDeps, meta: RequestMeta, event: Parameters<AccountDeps['events']['record']>[0]) =>
  deps.events.record({ ...event, ip: meta.ip, userAgent: meta.userAgent, requestId: meta.requestId });

const cursorOf = (value: string) => Buffer.from(value, 'utf8').toString('base64url');
const fromCursor = (cursor: string | undefined) =>
  cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString('utf8');

export async function listUsers(deps: AccountDeps, page: { limit: number; cursor?: string | undefined }) {
  const rows = await deps.users.list(page.limit + 1, fromCursor(page.cursor));
  const users = rows.slice(0, page.limit).map((u) => ({
    id: u.id,
    username: u.username,
    roles: u.roles,
    disabled: u.disabled,
    created_at: u.createdAt.toISOString(),
    last_login_at: u.lastLoginAt?.toISOString() ?? null,
  }));
  const last = users.at(-1);
  return { users, next_cursor: rows.length > page.limit && last ? cursorOf(last.username) : null };
}

/**
 * Change a user's roles and/or disabled flag. Disabling revokes every session of the user. The last active
 * admin cannot take their own admin role away or disable themself (409 `last_admin`).
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
    { roles, disabled: patch.disabled },
    (before, adminsAfter) => {
      const wasAdmin = before.roles.includes('admin') && !before.disabled;
      if (wasAdmin && adminsAfter === 0 && before.id === actor.userId) throw lastAdmin();
    },
  );
  if (!result) throw userNotFound();
  const { before, after } = result;
  if (roles && before.roles.join() !== after.roles.join()) {
    // Cookie sessions: the next request mints a token with the new roles (no cached one with the old), and the
    // cookie gets a new value (a privilege change).
    await deps.sessions.privilegesChanged(after.id);
    await audit(deps, meta, {
      type: 'role_change',
      userId: after.id,
      username: after.username,
      details: { from: before.roles, to: after.roles, by: actor.username },
    });
  }
  if (after.disabled && !before.disabled) {
    const revoked = await deps.sessions.revokeAll(after.id);
    await audit(deps, meta, {
      type: 'user_disabled',
      userId: after.id,
      username: after.username,
      details: { by: actor.username, revoked },
    });
  } else if (after.disabled) {
    await deps.sessions.revokeAll(after.id); // idempotent: disabled users hold no sessions
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
    before: fromCursor(filter.cursor),
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
  return { events, next_cursor: rows.length > filter.limit && last ? cursorOf(last.id) : null };
}
