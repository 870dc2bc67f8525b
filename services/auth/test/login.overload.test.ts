/**
 * Admission control in front of bcrypt. No timing: an injected bcrypt whose operations wait on a gate
 * the test opens, so the admitted work stays in flight and the queue fills deterministically.
 * The instance admits 4 operations at once (UV_THREADPOOL_SIZE=2: 2 workers; a budget of 800 ms with a hash time
 * of 200 ms: floor(800 x 2 / 200) - 2 x 2 workers), 1 per client address and 1 per account.
 */
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';
import {
  eventually,
  http,
  type JsonResponse,
  scanRedisKeys,
  suiteScope,
  useRedisClient,
} from '@authstack/testing';
import { gatedBcrypt } from '@authstack/testing/gated-bcrypt';
import { STRONG_PASSWORD, startAuthFixture, type TestAuth, username } from './support.ts';

describe('login under overload: admission control for bcrypt', () => {
  const scope = suiteScope();
  let auth: TestAuth;
  const redis = useRedisClient(scope);
  const gate = gatedBcrypt();
  let ipCounter = 0;
  /** A client address of its own per call (TEST-NET-2, sent as a trusted proxy would). */
  const newIp = () => `198.51.100.${++ipCounter}`;
  const post = (path: string, ip: string, body: unknown, token?: string) =>
    http(`${auth.url}${path}`, {
      body,
      headers: { 'x-forwarded-for': ip },
      ...(token ? { token } : {}),
    });
  /** Logins held at the gate, each from its own address for its own (unknown) account. */
  const fill = async (count: number, ips = Array.from({ length: count }, newIp)) => {
    const before = gate.waiting();
    const pending = ips.map((ip) =>
      post('/auth/login', ip, { username: username('filler'), password: STRONG_PASSWORD }),
    );
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
  const assertOverloaded = (res: JsonResponse) => {
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'overloaded');
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${retryAfter}`);
    assert.equal(res.body.retry_after, retryAfter);
  };
  /** A user registered and logged in, each from an address of its own; its access token. */
  const newUser = async (stem: string) => {
    const name = username(stem);
    assert.equal(
      (await post('/auth/register', newIp(), { username: name, password: STRONG_PASSWORD })).status,
      201,
    );
    const login = await post('/auth/login', newIp(), { username: name, password: STRONG_PASSWORD });
    assert.equal(login.status, 200);
    return { username: name, accessToken: String(login.body.access_token) };
  };
  /** The limiter's counters (key and value) of this instance whose key mentions `text`. */
  const countersMentioning = async (text: string) => {
    const found: Record<string, string | null> = {};
    const keys = await scanRedisKeys(redis, `${auth.config.redisKeyPrefix}rl:*`);
    for (const key of keys.filter((k) => k.includes(text))) found[key] = await redis.get(key);
    return found;
  };

  before(async () => {
    auth = await startAuthFixture(scope, {
      env: {
        TRUST_PROXY: 'loopback',
        UV_THREADPOOL_SIZE: '2',
        BCRYPT_QUEUE_BUDGET_MS: '800',
        BCRYPT_MAX_PER_CLIENT: '1',
        BCRYPT_MAX_PER_ACCOUNT: '1',
        // One failure blocks a (username, address) pair: a shed attempt that counted would show at once.
        LOGIN_MAX_FAILURES_PER_USER_IP: '1',
        REGISTER_MAX_PER_IP_PER_HOUR: '1',
      },
      options: { bcrypt: gate.engine, hashMs: 200 },
    });
    scope.defer(() => gate.open()); // runs first: a held login must not hold the stop
  });
  afterEach(() => gate.open());

  it('when the start-up settings are read, then the thread pool, budget and capacity are in the metrics', async () => {
    assert.equal(await metric('auth_bcrypt_threadpool_size'), 2);
    assert.equal(await metric('auth_bcrypt_admission_capacity'), 4);
    assert.equal(await metric('auth_bcrypt_admission_max_per_client'), 1);
    assert.equal(await metric('auth_bcrypt_admission_max_per_account'), 1);
    assert.equal(await metric('auth_bcrypt_queue_budget_seconds'), 0.8);
    assert.equal(await metric('auth_bcrypt_hash_seconds'), 0.2);
  });

  it('when the hashing queue is full, then login, register and password change answer 503 overloaded with Retry-After and do no bcrypt work', async () => {
    const holder = await newUser('pw');
    const fresh = username('reg');
    gate.close();
    const pending = await fill(4);
    assert.equal(await metric('auth_bcrypt_in_flight'), 4);
    assert.equal(await metric('auth_bcrypt_queue_depth'), 4 - (await metric('auth_bcrypt_workers')));
    const calls = gate.calls();
    const shedBefore = await metric('auth_bcrypt_shed_total', { op: 'login', reason: 'budget' });

    assertOverloaded(
      await post('/auth/login', newIp(), { username: holder.username, password: STRONG_PASSWORD }),
    );
    assertOverloaded(await post('/auth/register', newIp(), { username: fresh, password: STRONG_PASSWORD }));
    assertOverloaded(
      await post(
        '/auth/password',
        newIp(),
        { current_password: STRONG_PASSWORD, new_password: 'another long passphrase' },
        holder.accessToken,
      ),
    );
    assert.equal(gate.calls(), calls, 'a shed request started bcrypt work');
    assert.equal(await metric('auth_bcrypt_shed_total', { op: 'login', reason: 'budget' }), shedBefore + 1);
    assert.equal(await metric('auth_bcrypt_shed_total', { op: 'register', reason: 'budget' }), 1);
    assert.equal(await metric('auth_bcrypt_shed_total', { op: 'password_change', reason: 'budget' }), 1);

    gate.open();
    for (const res of await Promise.all(pending)) assert.equal(res.body.code, 'invalid_credentials');
    assert.equal(await metric('auth_bcrypt_in_flight'), 0);
    // Nothing was done for the shed ones: the name is still free, the password unchanged.
    assert.equal(
      (await post('/auth/register', newIp(), { username: fresh, password: STRONG_PASSWORD })).status,
      201,
    );
    assert.equal(
      (await post('/auth/login', newIp(), { username: holder.username, password: STRONG_PASSWORD })).status,
      200,
    );
  });

  it('when a login or registration is shed, then it counts against neither the account nor the address', async () => {
    const victim = await newUser('victim');
    const ip = newIp();
    const accountCounters = await countersMentioning(`:${victim.username}`);
    gate.close();
    const pending = await fill(4);

    for (let n = 0; n < 3; n++) {
      assertOverloaded(
        await post('/auth/login', ip, { username: victim.username, password: 'wrong password!' }),
      );
    }
    assertOverloaded(
      await post('/auth/register', ip, { username: username('reg'), password: STRONG_PASSWORD }),
    );
    assert.deepEqual(await countersMentioning(ip), {}, 'a limiter counter of the address moved');
    assert.deepEqual(
      await countersMentioning(`:${victim.username}`),
      accountCounters,
      'a limiter counter of the account moved',
    );

    gate.open();
    await Promise.all(pending);
    // LOGIN_MAX_FAILURES_PER_USER_IP=1: had any shed attempt counted, this would be 429.
    const wrong = await post('/auth/login', ip, { username: victim.username, password: 'wrong password!' });
    assert.equal(wrong.body.code, 'invalid_credentials');
    // ... and the limit is live: that one failure blocks the pair.
    const blocked = await post('/auth/login', ip, { username: victim.username, password: STRONG_PASSWORD });
    assert.equal(blocked.body.code, 'too_many_attempts');
    // REGISTER_MAX_PER_IP_PER_HOUR=1: the shed registration did not spend it.
    assert.equal(
      (await post('/auth/register', ip, { username: username('reg'), password: STRONG_PASSWORD })).status,
      201,
    );
  });

  it('when one client holds its share, then its next login is shed and another client still gets through', async () => {
    const flooder = newIp();
    gate.close();
    const [first] = await fill(1, [flooder]);
    const shedBefore = await metric('auth_bcrypt_shed_total', { op: 'login', reason: 'client' });
    const calls = gate.calls();

    assertOverloaded(
      await post('/auth/login', flooder, { username: username('flood'), password: STRONG_PASSWORD }),
    );
    assert.equal(gate.calls(), calls);
    assert.equal(await metric('auth_bcrypt_shed_total', { op: 'login', reason: 'client' }), shedBefore + 1);

    const other = await fill(1); // another address: admitted (it reaches bcrypt)
    assert.equal(await metric('auth_bcrypt_in_flight'), 2);

    gate.open();
    await Promise.all([first, ...other]);
  });

  it('when one account is being checked, then a second attempt at it from elsewhere is shed and other accounts get through', async () => {
    const target = await newUser('target');
    gate.close();
    const first = post('/auth/login', newIp(), { username: target.username, password: 'wrong password!' });
    await eventually(async () => gate.waiting() === 1, 10_000, 10);

    assertOverloaded(
      await post('/auth/login', newIp(), { username: target.username, password: STRONG_PASSWORD }),
    );
    assert.equal(await metric('auth_bcrypt_shed_total', { op: 'login', reason: 'account' }), 1);
    const other = await fill(1);

    gate.open();
    await Promise.all([first, ...other]);
    assert.equal(
      (await post('/auth/login', newIp(), { username: target.username, password: STRONG_PASSWORD })).status,
      200,
    );
  });
});
