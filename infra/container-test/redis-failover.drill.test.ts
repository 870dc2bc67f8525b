/**
 * The Redis failover drill, on the ha profile (docker-compose.ha.yml: a primary, two replicas, three Sentinels),
 * through the gateway's published port. Sessions are opened and rotated; then a request loop of logins, refreshes
 * and session-mode protected calls runs while the primary is killed (`docker kill`: no shutdown, as a crash). The
 * Sentinels promote a replica, auth and the session-mode resource reconnect by themselves. Counted: requests, failed
 * requests (each must be a 503, never a 401 or a 500), seconds from the kill to the last failure (recovery), and
 * sessions lost: acknowledged to the client (a login or a rotation answered 200) and refused afterwards. Goal and
 * assertion: none lost. A session whose refresh failed is "in doubt" (the rotation may have happened: presenting the
 * old token again would be reuse) and is checked by its access token only. The figures are printed.
 *
 * Environment (set by the stage script): COMPOSE_PROJECT_NAME, GATEWAY_HTTPS_PORT, and
 * COMPOSE_FILE=docker-compose.yml:docker-compose.ha.yml.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { api, containers, docker, eventually, PROJECT, type Reply } from './stack.ts';

const PASSWORD = 'correct horse battery staple failover';
const WORKERS = 4;
const BEFORE = 8; // sessions opened and rotated just before the kill, left alone during the failover
const QUIET_SECONDS = 5; // recovered: this long without a failure after the last one
const RECOVERY_BOUND_SECONDS = 60; // generous: Sentinel's down-after is 5 s, the election a few more
const LOOP_LIMIT_SECONDS = 80;
const PACE_MS = 50; // between a worker's iterations: well under the gateway's login rate the stage sets
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Session {
  username: string;
  access: string;
  refresh: string;
  /** A refresh of it failed: the rotation may or may not have happened. */
  inDoubt: boolean;
}

/** `redis-cli` in a Sentinel's container, with the Sentinel password from its secret file. */
async function askSentinel(...args: string[]): Promise<string> {
  const [sentinel] = await containers('redis-sentinel-1');
  const cli = `REDISCLI_AUTH="$(cat /run/secrets/redis_sentinel_password)" redis-cli -p 26379 ${args.join(' ')}`;
  return (await docker('exec', sentinel!, 'sh', '-c', cli)).trim();
}
/** The primary's address, as the Sentinels name it. */
const primaryAddress = async () =>
  (await askSentinel('sentinel', 'get-master-addr-by-name', 'authstack')).split('\n')[0]!;

/** The running container of this project that has `address` (the Sentinels name nodes by address). */
async function containerAt(address: string): Promise<{ id: string; service: string }> {
  const ids = (await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`))
    .split('\n')
    .filter(Boolean);
  const rows = await docker(
    'inspect',
    '-f',
    '{{.Id}} {{index .Config.Labels "com.docker.compose.service"}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
    ...ids,
  );
  const row = rows.split('\n').find((line) => line.split(' ').slice(2).includes(address));
  assert.ok(row, `a container has ${address}`);
  const [id, service] = row.split(' ');
  return { id: id!, service: service! };
}

/** A new account (set-up, before the kill): a 429 from the gateway's per-address rate is waited out. */
async function register(stem: string): Promise<string> {
  const username = `${stem}${process.pid}x${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  let reply = await api('POST', '/auth/register', { username, password: PASSWORD });
  for (let attempt = 0; reply.status === 429 && attempt < 20; attempt++) {
    await pause(500);
    reply = await api('POST', '/auth/register', { username, password: PASSWORD });
  }
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return username;
}
const tokens = (username: string, reply: Reply): Session => ({
  username,
  access: reply.body.access_token as string,
  refresh: reply.body.refresh_token as string,
  inDoubt: false,
});
const attempt = (work: () => Promise<Reply>): Promise<Reply> =>
  work().catch((error: unknown) => ({ status: 0, body: { error: String(error) } }));

/** The container of the primary the drill killed, for the second test. */
let killed: string | undefined;

describe('Redis failover drill (ha profile)', { concurrency: false }, () => {
  it('when the primary is killed under load, then Sentinel promotes a replica, auth and resource recover by themselves, and no acknowledged session is lost', async (t) => {
    const { id: primaryContainer, service: primary } = await containerAt(await primaryAddress());

    // Sessions acknowledged before the kill: opened, then rotated once, the last answers just before the kill.
    const before: Session[] = [];
    for (let i = 0; i < BEFORE; i++) {
      const username = await register('failover');
      const login = await api('POST', '/auth/login', { username, password: PASSWORD });
      assert.equal(login.status, 200);
      before.push(tokens(username, login));
    }
    const users: string[] = [];
    for (let i = 0; i < WORKERS; i++) users.push(await register('loop'));

    const log: { at: number; kind: string; status: number }[] = [];
    const opened: Session[] = [];
    let lostInLoop = 0;
    let killedAt = 0;
    let stop = false;
    const call = async (kind: string, work: () => Promise<Reply>) => {
      const reply = await attempt(work);
      log.push({ at: Date.now(), kind, status: reply.status });
      return reply;
    };
    const worker = async (username: string) => {
      let session: Session | undefined;
      for (let i = 0; !stop; i++) {
        await pause(PACE_MS);
        if (!session || i % 4 === 0) {
          const login = await call('login', () =>
            api('POST', '/auth/login', { username, password: PASSWORD }),
          );
          if (login.status === 200) {
            session = tokens(username, login);
            opened.push(session);
          }
          if (!session) continue;
        }
        const current = session;
        const refreshed = await call('refresh', () =>
          api('POST', '/auth/refresh', { refresh_token: current.refresh }),
        );
        if (refreshed.status === 200) {
          current.access = refreshed.body.access_token as string;
          current.refresh = refreshed.body.refresh_token as string;
        } else {
          if (refreshed.status === 401) lostInLoop++;
          current.inDoubt = true; // never present this token again: it may have been rotated
          session = undefined;
          continue;
        }
        const page = await call('protected', () =>
          api('GET', '/api-session/protected', undefined, current.access),
        );
        if (page.status === 401) lostInLoop++;
      }
    };

    const loop = Promise.all(users.map(worker));
    await pause(2_000); // the loop's baseline, before anything fails
    const rotated = await Promise.all(
      before.map((session) => api('POST', '/auth/refresh', { refresh_token: session.refresh })),
    );
    rotated.forEach((reply, i) => {
      assert.equal(reply.status, 200);
      Object.assign(before[i]!, tokens(before[i]!.username, reply));
    });
    killedAt = Date.now();
    await docker('kill', primaryContainer);
    killed = primaryContainer;

    // Run until QUIET_SECONDS pass without a failure after at least one success of each kind since the kill.
    for (;;) {
      await pause(500);
      const since = log.filter((entry) => entry.at > killedAt);
      const lastFailure = Math.max(killedAt, ...since.filter((e) => e.status !== 200).map((e) => e.at));
      const recovered = ['login', 'refresh', 'protected'].every((kind) =>
        since.some((e) => e.kind === kind && e.status === 200 && e.at > lastFailure),
      );
      if (
        (recovered && Date.now() - lastFailure >= QUIET_SECONDS * 1000) ||
        Date.now() - killedAt > LOOP_LIMIT_SECONDS * 1000
      )
        break;
    }
    stop = true;
    await loop;
    const newPrimary = (await containerAt(await primaryAddress())).service;

    const failed = log.filter((entry) => entry.status !== 200);
    const lastFailure = Math.max(killedAt, ...failed.map((entry) => entry.at));
    const recoverySeconds = (lastFailure - killedAt) / 1000;
    const byStatus = Object.fromEntries(
      [...new Set(failed.map((e) => e.status))].map((status) => [
        status,
        failed.filter((e) => e.status === status).length,
      ]),
    );

    // Afterwards: every acknowledged session still validates (session mode looks it up) and, unless in doubt, refreshes.
    const verify = async (session: Session) => {
      const page = await api('GET', '/api-session/protected', undefined, session.access);
      if (page.status !== 200) return false;
      if (session.inDoubt) return true;
      return (await api('POST', '/auth/refresh', { refresh_token: session.refresh })).status === 200;
    };
    const lost = async (sessions: Session[]) => {
      let count = 0; // a few at a time: the gateway limits connections per client address
      for (let i = 0; i < sessions.length; i += WORKERS)
        count += (await Promise.all(sessions.slice(i, i + WORKERS).map(verify))).filter((ok) => !ok).length;
      return count;
    };
    const lostBefore = await lost(before);
    const lostOpened = await lost(opened);
    const inDoubt = opened.filter((session) => session.inDoubt).length;

    const figures =
      `failover drill: primary ${primary} killed, ${newPrimary} promoted; requests ${log.length}, failed ${failed.length} ` +
      `${JSON.stringify(byStatus)}; seconds to recovery ${recoverySeconds.toFixed(1)}; sessions acknowledged before ` +
      `the kill ${before.length}, lost ${lostBefore}; sessions opened in the loop ${opened.length}, lost ` +
      `${lostOpened + lostInLoop}, in doubt ${inDoubt} (checked by access token only)`;
    console.log(figures);
    t.diagnostic(figures);

    assert.notEqual(newPrimary, primary, 'a replica was promoted');
    assert.ok(
      log.some((entry) => entry.at < killedAt && entry.status === 200),
      'the loop ran before the kill',
    );
    assert.deepEqual(
      log.filter((entry) => entry.at < killedAt && entry.status !== 200),
      [],
      'nothing failed before the kill',
    );
    assert.ok(recoverySeconds <= RECOVERY_BOUND_SECONDS, `recovered within ${RECOVERY_BOUND_SECONDS} s`);
    assert.ok(Date.now() - lastFailure >= QUIET_SECONDS * 1000, 'the loop ended recovered');
    assert.deepEqual(
      Object.keys(byStatus).filter((status) => status !== '503'),
      [],
      'every failure is a 503',
    );
    assert.equal(lostBefore, 0, 'no session acknowledged before the kill is lost');
    assert.equal(lostOpened + lostInLoop, 0, 'no session acknowledged during the drill is lost');
  });

  it('when the old primary starts again, then Sentinel makes it a replica of the new one', async () => {
    const old = killed;
    assert.ok(old, 'the killed primary is there, stopped');
    await docker('start', old!);
    const role = async () =>
      (
        await docker(
          'exec',
          old!,
          'sh',
          '-c',
          'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli -h 127.0.0.1 role',
        )
      ).split('\n')[0];
    await eventually('the old primary is a replica', async () => (await role()) === 'slave', 60);
  });
});
