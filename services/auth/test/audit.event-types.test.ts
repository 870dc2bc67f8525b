/**
 * The audit trail's one list of event types (the contract's `EVENT_TYPES`) is what the event store writes and what
 * the admin API filters by; and every event goes through the one audit helper, which adds the request it came from.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type AuthEventType, EVENT_TYPES } from '@authstack/contract';
import { http } from '@authstack/testing';
import { BOOT, useAdminStack } from './admin-support.ts';
import { registerAndLogin, STRONG_PASSWORD, username } from './support.ts';

type Events = {
  events: {
    type: string;
    user_id: string | null;
    username: string | null;
    ip: string | null;
    user_agent: string | null;
    request_id: string | null;
    details: Record<string, unknown>;
  }[];
};

describe('the audit event types and the audit helper', () => {
  const stack = useAdminStack();
  const events = () => stack.auth.service.useCases.events;

  const list = (query: string) =>
    http<Events>(`${stack.auth.url}/auth/admin/events?${query}`, { token: stack.admin.access_token });

  it('when an event of each listed type is recorded, then the admin API filtered by that type returns it', async () => {
    const user = await registerAndLogin(stack.auth.url);
    for (const type of EVENT_TYPES)
      await events().record({ type, userId: user.user.id, details: { probe: type } });

    for (const type of EVENT_TYPES) {
      const found = await list(`type=${type}&user_id=${user.user.id}&limit=100`);
      assert.equal(found.status, 200, type);
      assert.ok(found.body.events.length > 0, `${type}: none found`);
      assert.ok(
        found.body.events.every((event) => event.type === type),
        `${type}: the filter let another type through`,
      );
      assert.deepEqual(
        found.body.events.filter((event) => event.details.probe !== undefined).map((e) => e.details.probe),
        [type],
      );
    }
  });

  it('when a type outside the list is recorded, then the store refuses it and writes nothing', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const before = (await list(`user_id=${user.user.id}&limit=100`)).body.events.length;

    await assert.rejects(
      events().record({ type: 'made_up_event' as AuthEventType, userId: user.user.id }),
      (error: Error) =>
        error instanceof TypeError && /unknown audit event type: made_up_event/.test(error.message),
    );

    const after = await list(`user_id=${user.user.id}&limit=100`);
    assert.equal(after.body.events.length, before);
    assert.equal(
      after.body.events.some((event) => event.type === 'made_up_event'),
      false,
    );
  });

  it('when the admin API is asked for a type outside the list, then 400 invalid_input', async () => {
    const res = await list('type=made_up_event');
    assert.equal(res.status, 400);
    assert.equal((res.body as unknown as { code: string }).code, 'invalid_input');
  });

  it('when a use case audits a request, then the event carries its address, user agent and request id', async () => {
    const name = username('meta');
    const requestId = `audit-meta-${name}`;
    const res = await http<{ user: { id: string } }>(`${stack.auth.url}/auth/register`, {
      body: { username: name, password: STRONG_PASSWORD },
      headers: { 'user-agent': 'audit-meta-test/1.0', 'x-request-id': requestId },
    });
    assert.equal(res.status, 201);

    const found = await list(`type=register&user_id=${res.body.user.id}`);
    assert.equal(found.body.events.length, 1);
    const event = found.body.events[0]!;
    assert.equal(event.username, name);
    assert.equal(event.ip, '127.0.0.1');
    assert.equal(event.user_agent, 'audit-meta-test/1.0');
    assert.equal(event.request_id, requestId);
  });

  it('when an event is written outside a request (the admin bootstrap), then it carries no request fields', async () => {
    const found = await list('type=admin_bootstrap');
    const event = found.body.events.find((e) => e.username === BOOT.username);
    assert.ok(event, 'the bootstrap event');
    assert.deepEqual([event.ip, event.user_agent, event.request_id], [null, null, null]);
  });

  it('when the auth service is read, then every listed type is written somewhere, and only through the audit helper', () => {
    const src = fileURLToPath(new URL('../src/', import.meta.url));
    const sources = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('.ts'))
      .map((path) => ({ path, text: readFileSync(join(src, path), 'utf8') }));
    const written = new Set(
      sources.flatMap(({ text }) => [...text.matchAll(/type: '([a-z_]+)'/g)].map((m) => m[1])),
    );
    assert.deepEqual(
      EVENT_TYPES.filter((type) => !written.has(type)),
      [],
      'types in the list that nothing writes',
    );
    const direct = sources
      .filter(({ path, text }) => path !== join('domain', 'audit.ts') && /events\.record\(/.test(text))
      .map(({ path }) => path);
    assert.deepEqual(direct, [], 'files that write events without the audit helper');
  });
});
