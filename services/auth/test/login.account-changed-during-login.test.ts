/**
 * A disable or password change that landed while login was comparing the
 * password (bcrypt time) left a session alive, because the account was read only before the comparison.
 * Login now re-reads the account after creating the session and drops it when the account changed.
 *
 * Deterministic, no timing: the `login` use case takes its dependencies, and the user store given to it here
 * applies the change right after the account row is read, which is the window bcrypt's time opens.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { decodePart } from '@authstack/testing/tokens';
import { type LoginDeps, login } from '../src/domain/accounts.ts';
import { updateUser } from '../src/domain/admin.ts';
import type { RequestMeta } from '../src/domain/request-meta.ts';
import { changePassword } from '../src/domain/sessions.ts';
import { useAdminStack } from './admin-support.ts';
import { registerAndLogin } from './support.ts';

const meta: RequestMeta = { ip: '127.0.0.1', userAgent: 'finding-10', requestId: undefined };

/** `deps` whose user store runs `change` once, just after login has read the account. */
function changeAfterRead(deps: LoginDeps, change: () => Promise<unknown>): LoginDeps {
  let done = false;
  return {
    ...deps,
    users: {
      ...deps.users,
      findByUsername: async (name: string) => {
        const row = await deps.users.findByUsername(name);
        if (!done) {
          done = true;
          await change();
        }
        return row;
      },
    },
  };
}

const invalidCredentials = (error: unknown) => (error as { code?: string }).code === 'invalid_credentials';

describe('no session survives an account change that lands during login', () => {
  const stack = useAdminStack();
  const deps = (): LoginDeps => stack.auth.service.useCases;

  it('when the account is disabled during the password check, then login fails and the user has no session', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const admin = { userId: stack.admin.user.id, username: 'chief' };
    const hooked = changeAfterRead(deps(), () =>
      updateUser(stack.auth.service.useCases, admin, user.user.id, { disabled: true }, meta),
    );

    await assert.rejects(
      login(hooked, { username: user.username, password: user.password }, meta),
      invalidCredentials,
    );

    assert.deepEqual(await deps().sessions.list(user.user.id), []);
  });

  it('when the password is changed during the password check, then login with the old password fails and only the changer keeps a session', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const changerSid = decodePart(user.access_token, 1).sid as string;
    const hooked = changeAfterRead(deps(), () =>
      changePassword(
        deps(),
        { userId: user.user.id, sid: changerSid },
        { currentPassword: user.password, newPassword: 'a fresh and private phrase' },
        meta,
      ),
    );

    await assert.rejects(
      login(hooked, { username: user.username, password: user.password }, meta),
      invalidCredentials,
    );

    assert.deepEqual(
      (await deps().sessions.list(user.user.id)).map((s) => s.id),
      [changerSid],
    );
    const fresh = await http(`${stack.auth.url}/auth/login`, {
      body: { username: user.username, password: 'a fresh and private phrase' },
    });
    assert.equal(fresh.status, 200);
  });

  it('when nothing changes during the password check, then the same use case logs in', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const hooked = changeAfterRead(deps(), async () => {});
    const issued = await login(hooked, { username: user.username, password: user.password }, meta);
    assert.ok((await deps().sessions.list(user.user.id)).some((s) => s.id === issued.sessionId));
  });
});
