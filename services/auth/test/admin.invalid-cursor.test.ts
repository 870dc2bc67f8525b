/**
 * Admin cursors: a `cursor` the server did not issue reached PostgreSQL
 * (a NUL byte in a username, text in a bigint) and answered 500. Now it is 400 `invalid_cursor`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { useAdminStack } from './admin-support.ts';
import { registerAndLogin } from './support.ts';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('admin cursors the server did not issue', () => {
  const stack = useAdminStack();

  const cases: [string, string][] = [
    ['/auth/admin/events', 'abc'],
    ['/auth/admin/users', 'AAAA'],
    ['/auth/admin/events', 'AAAA'],
    ['/auth/admin/users', 'abc'],
    ['/auth/admin/events', b64('99999999999999999999999')],
    ['/auth/admin/events', b64('-1')],
    ['/auth/admin/users', b64('NOT A USERNAME')],
    ['/auth/admin/users', `${b64('u:alice')}A`],
  ];
  for (const [path, cursor] of cases) {
    it(`when ${path} gets cursor=${cursor}, then 400 invalid_cursor as problem+json`, async () => {
      const res = await http(`${stack.auth.url}${path}?cursor=${cursor}`, {
        token: stack.admin.access_token,
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_cursor');
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    });
  }

  it("when one list's cursor is given to the other list, then 400 invalid_cursor", async () => {
    for (let i = 0; i < 2; i++) await registerAndLogin(stack.auth.url);
    const users = await http<{ next_cursor: string }>(`${stack.auth.url}/auth/admin/users?limit=1`, {
      token: stack.admin.access_token,
    });
    const events = await http<{ next_cursor: string }>(`${stack.auth.url}/auth/admin/events?limit=1`, {
      token: stack.admin.access_token,
    });
    assert.ok(users.body.next_cursor && events.body.next_cursor);
    for (const [path, cursor] of [
      ['/auth/admin/events', users.body.next_cursor],
      ['/auth/admin/users', events.body.next_cursor],
    ] as const) {
      const res = await http(`${stack.auth.url}${path}?cursor=${cursor}`, {
        token: stack.admin.access_token,
      });
      assert.equal(res.status, 400, path);
      assert.equal(res.body.code, 'invalid_cursor');
    }
    const next = await http(`${stack.auth.url}/auth/admin/events?limit=1&cursor=${events.body.next_cursor}`, {
      token: stack.admin.access_token,
    });
    assert.equal(next.status, 200, 'an issued cursor still pages');
  });
});
