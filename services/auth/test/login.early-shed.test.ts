/**
 * Admission control's early shed (`routes/early-shed.ts`): under overload, login and register are refused before
 * their body is read, with the same answer a shed gets from the route, counted as every shed is, without a log
 * line per request, and after the shed delay. The queue is held full by an injected bcrypt that waits on a gate.
 * The instance admits 4 operations at once (UV_THREADPOOL_SIZE=2: 2 workers; a budget of 800 ms with a hash time of
 * 200 ms), 1 per client address and 1 per account; its shed delay is 200 / 2 = 100 ms.
 */
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';
import { eventually, http, type JsonResponse, suiteScope } from '@authstack/testing';
import { gatedBcrypt } from '@authstack/testing/gated-bcrypt';
import { planAdmission } from '../src/domain/admission.ts';
import { STRONG_PASSWORD, startAuthFixture, type TestAuth, username } from './support.ts';

describe('login under overload: shed before the body is read', () => {
  const scope = suiteScope();
  let auth: TestAuth;
  const lines: string[] = [];
  const gate = gatedBcrypt();
  let ipCounter = 0;
  const newIp = () => `198.51.100.${++ipCounter}`;
  const post = (path: string, ip: string, body: unknown, headers: Record<string, string> = {}) =>
    http(`${auth.url}${path}`, { body, headers: { 'x-forwarded-for': ip, ...headers } });
  /** Logins held at the gate, each from its own address (or those given) for its own (unknown) account. */
  const fill = async (
    count: number,
    ips = Array.from({ length: count }, newIp),
    name = () => username('f'),
  ) => {
    const before = gate.waiting();
    const pending = ips.map((ip) => post('/auth/login', ip, { username: name(), password: STRONG_PASSWORD }));
    await eventually(async () => gate.waiting() === before + count, 10_000, 10);
    return pending;
  };
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const text = (await http(`${auth.url}/metrics`)).body as unknown as string;
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
      );
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };
  const headerNames = (res: JsonResponse) =>
    [...res.headers.keys()].filter((name) => !['date', 'keep-alive', 'connection'].includes(name)).sort();
  const withoutId = (body: Record<string, unknown>) => ({ ...body, request_id: undefined });

  before(async () => {
    auth = await startAuthFixture(scope, {
      env: {
        TRUST_PROXY: 'loopback',
        UV_THREADPOOL_SIZE: '2',
        BCRYPT_QUEUE_BUDGET_MS: '800',
        BCRYPT_MAX_PER_CLIENT: '1',
        BCRYPT_MAX_PER_ACCOUNT: '1',
      },
      options: { bcrypt: gate.engine, hashMs: 200 },
      logTo: lines,
    });
    scope.defer(() => gate.open());
  });
  afterEach(() => gate.open());

  it('when the queue is full, then a login with a body the parser would refuse is answered 503 overloaded, counted as shed', async () => {
    gate.close();
    const pending = await fill(4);
    const shed = { op: 'login', reason: 'budget' };
    const before = {
      shed: await metric('auth_bcrypt_shed_total', shed),
      logins: await metric('auth_login_total', { outcome: 'overloaded' }),
      http: await metric('http_request_duration_seconds_count', { route: '/auth/login', status: '503' }),
    };
    const calls = gate.calls();

    // Malformed JSON: had the body parser read it, the answer would be 400 malformed_json.
    const res = await post('/auth/login', newIp(), '{"username": "someone", "password": ');
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'overloaded');
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(gate.calls(), calls);
    assert.equal(await metric('auth_bcrypt_shed_total', shed), before.shed + 1);
    assert.equal(await metric('auth_login_total', { outcome: 'overloaded' }), before.logins + 1);
    assert.equal(
      await metric('http_request_duration_seconds_count', { route: '/auth/login', status: '503' }),
      before.http + 1,
    );
    // A registration, likewise.
    const reg = await post('/auth/register', newIp(), 'not json at all');
    assert.equal(reg.status, 503);
    assert.equal(reg.body.code, 'overloaded');

    gate.open();
    await Promise.all(pending);
  });

  it('when a login is shed early, then its answer is the one the route gives a shed login: body, status and headers', async () => {
    const account = username('acct');
    const holder = newIp();
    gate.close();
    // One login of `account` from `holder` is held: the account's share (1) and that address's share (1) are full.
    const pending = await fill(1, [holder], () => account);
    // Another address for the same account: nothing is full before the body is read, so the route sheds it.
    const late = await post('/auth/login', newIp(), { username: account, password: STRONG_PASSWORD });
    // The holder's address again: its share is full, so it is shed before its body is read.
    const early = await post('/auth/login', holder, { username: username('x'), password: STRONG_PASSWORD });

    for (const res of [late, early]) {
      assert.equal(res.status, 503);
      assert.equal(res.body.request_id, res.headers.get('x-request-id'));
    }
    assert.deepEqual(withoutId(early.body), withoutId(late.body));
    assert.deepEqual(Object.keys(early.body), Object.keys(late.body));
    assert.deepEqual(headerNames(early), headerNames(late));
    for (const name of ['content-type', 'retry-after']) {
      assert.equal(early.headers.get(name), late.headers.get(name), name);
    }
    // The gateway's request id is kept, as on every other answer.
    const given = 'gateway-request-id-0001';
    const tagged = await post(
      '/auth/login',
      holder,
      { username: username('x'), password: STRONG_PASSWORD },
      { 'x-request-id': given },
    );
    assert.equal(tagged.headers.get('x-request-id'), given);
    assert.equal(tagged.body.request_id, given);
    assert.equal(await metric('auth_bcrypt_shed_total', { op: 'login', reason: 'account' }), 1);

    gate.open();
    await Promise.all(pending);
  });

  it('when a login is shed early, then no log line is written for it and its answer waits the shed delay', async () => {
    gate.close();
    const pending = await fill(4);
    const id = 'early-shed-request-0001';
    const start = performance.now();
    const res = await post(
      '/auth/login',
      newIp(),
      { username: username('x'), password: STRONG_PASSWORD },
      { 'x-request-id': id },
    );
    const elapsed = performance.now() - start;
    assert.equal(res.status, 503);
    // The shed delay: hash time / workers = 100 ms.
    assert.ok(elapsed >= 95, `answered after ${elapsed} ms`);
    gate.open();
    await Promise.all(pending);
    // The request log and the error log write the request id of each request they log.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      lines.filter((line) => line.includes(id)),
      [],
    );
  });

  it('when the plan is made, then the shed delay is the hash time per worker, at most the Retry-After', () => {
    const settings = { poolSize: 4, budgetMs: undefined, maxPerClient: undefined, maxPerAccount: 2 };
    assert.equal(planAdmission(settings, 200, 2).shedDelayMs, 100);
    assert.equal(planAdmission(settings, 200, 2, { shedDelayMs: 0 }).shedDelayMs, 0);
    const slow = planAdmission({ ...settings, budgetMs: 1000 }, 5000, 2);
    assert.equal(slow.shedDelayMs, slow.retryAfterSec * 1000);
  });
});
