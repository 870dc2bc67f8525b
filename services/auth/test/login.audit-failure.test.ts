/**
 * A login whose work fails after its session was created (here: the audit write) answers an error, so the client
 * never receives the session's tokens; the session must not stay behind alive. Deterministic: the `login` use case
 * takes its dependencies, and the event store given to it fails on `login_success`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LoginDeps, login } from '../src/domain/accounts.ts';
import type { RequestMeta } from '../src/domain/request-meta.ts';
import { useAdminStack } from './admin-support.ts';
import { registerAndLogin } from './support.ts';

const meta: RequestMeta = { ip: '127.0.0.1', userAgent: 'audit-failure', requestId: undefined };

describe('a login that fails after creating its session leaves no session', () => {
  const stack = useAdminStack();
  const deps = (): LoginDeps => stack.auth.service.useCases;

  it('when the login_success audit write fails, then login answers the error and the user has no new session', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const before = (await deps().sessions.list(user.user.id)).map((s) => s.id);
    const failing: LoginDeps = {
      ...deps(),
      events: {
        ...deps().events,
        record: async (event) => {
          if (event.type === 'login_success') throw new Error('audit table unavailable');
          return deps().events.record(event);
        },
      },
    };

    await assert.rejects(
      login(failing, { username: user.username, password: user.password }, meta),
      /audit table unavailable/,
    );

    const after = (await deps().sessions.list(user.user.id)).map((s) => s.id);
    assert.deepEqual(after, before, 'only the sessions from before the failed login remain');
  });

  it('when nothing fails, then the same login creates one session (the control)', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const before = (await deps().sessions.list(user.user.id)).length;
    await login(deps(), { username: user.username, password: user.password }, meta);
    assert.equal((await deps().sessions.list(user.user.id)).length, before + 1);
  });
});
