/**
 * The bootstrap admin promoted whoever had registered the configured name first
 * (keeping that user's password), and re-promoted a deliberately demoted admin on every restart. Now start-up
 * refuses a name held by an account the bootstrap did not create, and never touches the roles of the
 * account it did create.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { http, testScope, usePgClient } from '@authstack/testing';
import { activeAdmins, type Login, patchUser, secondAdmin } from './admin-support.ts';
import { migratedDatabase, registerAndLogin, STRONG_PASSWORD, startTestAuth, testEnv } from './support.ts';

const run = promisify(execFile);
const authDir = fileURLToPath(new URL('..', import.meta.url));
const spawnAuth = (env: Record<string, string | undefined>) =>
  run(process.execPath, ['src/server.ts'], {
    cwd: authDir,
    env: { PATH: process.env.PATH, ...env },
    timeout: 60_000, // a process that starts instead of refusing is killed, and the test fails
  }).catch((error: { code: number; stderr: string }) => error) as Promise<{ code: number; stderr: string }>;

describe('the bootstrap admin never takes over an account nor undoes an admin decision', () => {
  it('when the configured name belongs to an existing non-admin account, then start-up stops with a clear message and the account stays a user', async (t) => {
    const scope = testScope(t);
    const db = await migratedDatabase(scope);
    const sql = await usePgClient(scope, db.url);
    const env = testEnv(db);
    const squatter = await (async () => {
      const auth = await startTestAuth(env);
      try {
        return await registerAndLogin(auth.url, 'operator');
      } finally {
        await auth.stop();
      }
    })();

    const bootEnv = {
      ...env,
      BOOTSTRAP_ADMIN_USERNAME: 'Operator',
      BOOTSTRAP_ADMIN_PASSWORD: 'lantern over the harbour',
    };
    const spawned = await spawnAuth(bootEnv);
    assert.equal(spawned.code, 1);
    assert.match(
      spawned.stderr,
      /start-up failed: BOOTSTRAP_ADMIN_USERNAME: an account named "operator" already exists/,
    );
    await assert.rejects(
      startTestAuth(bootEnv),
      /BOOTSTRAP_ADMIN_USERNAME: an account named "operator" already exists/,
    );

    assert.deepEqual(await activeAdmins(sql), []);
    const auth = await startTestAuth(env);
    try {
      const login = await http<Login>(`${auth.url}/auth/login`, {
        body: { username: 'operator', password: STRONG_PASSWORD },
      });
      assert.equal(login.status, 200);
      assert.deepEqual(login.body.user.roles, ['user']);
      assert.equal(login.body.user.id, squatter.user.id);
    } finally {
      await auth.stop();
    }
  });

  it('when an admin demotes the bootstrap admin, then a restart keeps the demotion', async (t) => {
    const scope = testScope(t);
    const db2 = await migratedDatabase(scope);
    const sql = await usePgClient(scope, db2.url);
    const env = testEnv(db2, {
      BOOTSTRAP_ADMIN_USERNAME: 'root',
      BOOTSTRAP_ADMIN_PASSWORD: 'lantern over the harbour',
    });
    let auth = await startTestAuth(env);
    let other: string;
    try {
      const root = (
        await http<Login>(`${auth.url}/auth/login`, {
          body: { username: 'root', password: 'lantern over the harbour' },
        })
      ).body;
      const b = await secondAdmin(auth.url, root);
      other = b.username;
      assert.equal(
        (await patchUser(auth.url, b.access_token, root.user.id, { roles: ['user'] })).status,
        200,
      );
    } finally {
      await auth.stop();
    }
    assert.deepEqual(await activeAdmins(sql), [other]);

    auth = await startTestAuth(env); // a restart with the same environment
    try {
      assert.deepEqual(await activeAdmins(sql), [other], 'the bootstrap did not re-promote root');
      const login = await http<Login>(`${auth.url}/auth/login`, {
        body: { username: 'root', password: 'lantern over the harbour' },
      });
      assert.deepEqual(login.body.user.roles, ['user']);
    } finally {
      await auth.stop();
    }
  });

  it('when the bootstrap admin exists as created, then restarts change nothing and the audit shows one bootstrap', async (t) => {
    const db3 = await migratedDatabase(testScope(t));
    const env = testEnv(db3, {
      BOOTSTRAP_ADMIN_USERNAME: 'keeper',
      BOOTSTRAP_ADMIN_PASSWORD: 'lantern over the harbour',
    });
    for (let i = 0; i < 2; i++) await (await startTestAuth(env)).stop();
    const auth = await startTestAuth(env);
    try {
      const keeper = (
        await http<Login>(`${auth.url}/auth/login`, {
          body: { username: 'keeper', password: 'lantern over the harbour' },
        })
      ).body;
      assert.deepEqual(keeper.user.roles, ['user', 'admin']);
      const events = await http<{ events: { details: { created: boolean } }[] }>(
        `${auth.url}/auth/admin/events?type=admin_bootstrap`,
        { token: keeper.access_token },
      );
      assert.equal(events.body.events.length, 1);
      assert.equal(events.body.events[0]!.details.created, true);
    } finally {
      await auth.stop();
    }
  });
});
