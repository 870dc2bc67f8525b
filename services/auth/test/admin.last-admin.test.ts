/**
 * The last-admin guard only protected an admin from themself, so two admins
 * demoting each other (or one demoting the other and then themself) left no admin. No change by anyone
 * may leave no active admin.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http, testScope } from '@authstack/testing';
import { activeAdmins, BOOT, patchUser, secondAdmin, startWithAdmin } from './admin-support.ts';

describe('no change by anyone leaves no active admin', () => {
  for (const [name, change] of [
    ['demote', { roles: ['user'] }],
    ['disable', { disabled: true }],
  ] as const) {
    it(`when the only two admins ${name} each other at the same time, then exactly one change wins and one admin remains`, async (t) => {
      const { auth, admin: a, sql } = await startWithAdmin(testScope(t));
      const b = await secondAdmin(auth.url, a);
      assert.equal((await activeAdmins(await sql())).length, 2);

      const results = await Promise.all([
        patchUser(auth.url, a.access_token, b.user.id, change),
        patchUser(auth.url, b.access_token, a.user.id, change),
      ]);
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses ${statuses}`);
      const loser = results.find((r) => r.status !== 200)!;
      assert.ok([401, 403, 409].includes(loser.status), `loser status ${loser.status}`);
      assert.equal((await activeAdmins(await sql())).length, 1);
    });
  }

  it('when the only two admins fire several crossed demotions and disables at once, then an admin remains', async (t) => {
    const { auth, admin: a, sql } = await startWithAdmin(testScope(t));
    const b = await secondAdmin(auth.url, a);
    await Promise.all([
      patchUser(auth.url, a.access_token, b.user.id, { roles: ['user'] }),
      patchUser(auth.url, b.access_token, a.user.id, { disabled: true }),
      patchUser(auth.url, b.access_token, a.user.id, { roles: ['user'] }),
      patchUser(auth.url, a.access_token, b.user.id, { disabled: true }),
      patchUser(auth.url, b.access_token, b.user.id, { roles: ['user'] }),
      patchUser(auth.url, a.access_token, a.user.id, { roles: ['user'] }),
    ]);
    assert.equal((await activeAdmins(await sql())).length, 1);
  });

  it('when an admin demotes the other and then themself, then the second change is 409 last_admin', async (t) => {
    const { auth, admin: a, sql } = await startWithAdmin(testScope(t));
    const b = await secondAdmin(auth.url, a);
    assert.equal((await patchUser(auth.url, b.access_token, a.user.id, { roles: ['user'] })).status, 200);
    const self = await patchUser(auth.url, b.access_token, b.user.id, { roles: ['user'] });
    assert.equal(self.status, 409);
    assert.equal(self.body.code, 'last_admin');
    assert.deepEqual(await activeAdmins(await sql()), [b.username]);

    // the demoted bootstrap admin, logged in afresh, has no admin API either
    const again = await http<{ access_token: string }>(`${auth.url}/auth/login`, { body: BOOT });
    const res = await patchUser(auth.url, again.body.access_token, b.user.id, { roles: ['user'] });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'insufficient_scope');
    assert.deepEqual(await activeAdmins(await sql()), [b.username]);
  });
});
