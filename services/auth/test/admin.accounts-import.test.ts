/**
 * Admin API: import accounts with their bcrypt hashes. Each account is judged on its own: malformed hashes, names
 * that are not valid once normalised, unknown roles and duplicates (in the database or earlier in the batch) are
 * refused and reported by position; the rest are created. A plain `$2b$` hash from another system logs in and is
 * upgraded to the peppered scheme. Export lists every account as JSON lines. Both are audited.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import bcrypt from 'bcrypt';
import { BOOT, useAdminStack } from './admin-support.ts';
import { STRONG_PASSWORD, username } from './support.ts';

describe('admin: import and export accounts', () => {
  const stack = useAdminStack();

  const importAccounts = (accounts: unknown[]) =>
    http<{ imported: number; refused: { index: number; username: string; reason: string }[] }>(
      `${stack.auth.url}/auth/admin/users/import`,
      { token: stack.admin.access_token, body: { accounts } },
    );
  const storedHash = async (name: string) =>
    (await (await stack.sql()).query('SELECT password_hash FROM users WHERE username = $1', [name])).rows[0]
      ?.password_hash as string | undefined;

  it('when hashes are malformed, names invalid, roles unknown or names taken, then those are refused and reported and the rest imported', async () => {
    const good = await bcrypt.hash(STRONG_PASSWORD, 4);
    const [a, b] = [username('imp'), username('imp')];
    const res = await importAccounts([
      { username: a, password_hash: good },
      { username: username(), password_hash: 'plaintext-password' },
      { username: username(), password_hash: `$2b$04$${'a'.repeat(52)}` },
      { username: username(), password_hash: `$2b$99$${'a'.repeat(53)}` },
      { username: username(), password_hash: `$hmac-sha256$2x$04$${'a'.repeat(53)}` },
      { username: username(), password_hash: `$hmac-sha256$2b$17$${'a'.repeat(53)}` },
      { username: 'no way!', password_hash: good },
      { username: username(), password_hash: good, roles: ['root'] },
      { username: BOOT.username, password_hash: good },
      { username: a.toUpperCase(), password_hash: good },
      { username: b, password_hash: good, roles: ['admin'], disabled: true },
    ]);
    assert.equal(res.status, 200);
    assert.equal(res.body.imported, 2);
    assert.deepEqual(
      res.body.refused.map((r) => [r.index, r.reason]),
      [
        [1, 'malformed_hash'],
        [2, 'malformed_hash'],
        [3, 'malformed_hash'],
        [4, 'malformed_hash'],
        [5, 'cost_too_high'],
        [6, 'invalid_username'],
        [7, 'invalid_roles'],
        [8, 'duplicate'],
        [9, 'duplicate'],
      ],
    );
    const found = await http<{ users: { roles: string[]; disabled: boolean }[] }>(
      `${stack.auth.url}/auth/admin/users?username=${b}`,
      { token: stack.admin.access_token },
    );
    assert.deepEqual(
      found.body.users.map((u) => [u.roles, u.disabled]),
      [[['user', 'admin'], true]],
    );
    const audit = await http<{ events: { details: Record<string, unknown> }[] }>(
      `${stack.auth.url}/auth/admin/events?type=accounts_imported&limit=1`,
      { token: stack.admin.access_token },
    );
    assert.deepEqual(audit.body.events[0]?.details, {
      by: BOOT.username,
      imported: 2,
      refused: 9,
      admins: [b],
    });
  });

  it('when a plain $2b$ hash from elsewhere is imported, then that password logs in and the hash is upgraded to the peppered scheme', async () => {
    const name = username('plain');
    await importAccounts([{ username: name, password_hash: await bcrypt.hash(STRONG_PASSWORD, 4) }]);
    assert.match((await storedHash(name))!, /^\$2b\$04\$/);
    const login = await http(`${stack.auth.url}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(login.status, 200);
    assert.match((await storedHash(name))!, /^\$hmac-sha256\$2b\$/);
    const wrong = await http(`${stack.auth.url}/auth/login`, {
      body: { username: name, password: 'not it at all' },
    });
    assert.equal(wrong.body.code, 'invalid_credentials');
  });

  it('when accounts are exported, then each is one JSON line with its hash, and the export is audited', async () => {
    const res = await fetch(`${stack.auth.url}/auth/admin/users/export`, {
      headers: { authorization: `Bearer ${stack.admin.access_token}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/x-ndjson/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const lines = (await res.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const boot = lines.find((line) => line.username === BOOT.username)!;
    assert.deepEqual(Object.keys(boot).sort(), [
      'created_at',
      'disabled',
      'password_hash',
      'roles',
      'username',
    ]);
    assert.equal(boot.password_hash, await storedHash(BOOT.username));
    const audit = await http<{ events: { details: Record<string, unknown> }[] }>(
      `${stack.auth.url}/auth/admin/events?type=accounts_exported&limit=1`,
      { token: stack.admin.access_token },
    );
    assert.deepEqual(audit.body.events[0]?.details, { by: BOOT.username, count: lines.length });
  });
});
