/**
 * CLI conventions, through a real gateway (nginx, TLS) in front of auth and resource: --version; a description
 * for every command and option; --json output that parses for every command; distinct exit codes and messages
 * naming the cause (refused by the server, usage, connection refused, certificate not trusted); and the admin
 * commands, ending with an export imported into an empty database (same PASSWORD_PEPPER) where every account
 * logs in with its old password.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { newKek, STRONG_PASSWORD, startAuthFixture, username } from '@authstack/auth/testing';
import { EXIT } from '@authstack/client/exit-codes';
import { redisEnv, suiteScope, testScope, useTempDir } from '@authstack/testing';
import type { Gateway, makeCerts } from '../infra/nginx/local-gateway.ts';
import { startGatewayPair, verifierEnv } from './support.ts';

const CLI = fileURLToPath(import.meta.resolve('@authstack/client/cli'));
const ADMIN = { username: 'opsadmin', password: 'operator passphrase 77' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in an empty directory (so no certs/ca.crt is found by default) with only the given variables. */
function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the CLI: conventions and admin commands', () => {
  const pepper = newKek();
  const scope = suiteScope();
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;
  let dir: string;
  const user = { username: username('cliuser'), password: STRONG_PASSWORD };

  before(async () => {
    ({ certs, gateway } = await startGatewayPair(scope, {
      env: {
        BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
        BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        PASSWORD_PEPPER: pepper,
      },
      resourceEnv: (auth) => verifierEnv(auth, redisEnv()),
      gateway: { loginRate: '100r/s', loginBurst: '100', registerRate: '100r/s', registerBurst: '100' },
    }));
    dir = useTempDir(scope, 'authstack-cli-conventions');
  });

  const through = (args: string[], env: Record<string, string> = {}, input?: string) =>
    cli(['--base-url', gateway.httpsUrl, '--ca', certs.ca, ...args], env, input);
  const asAdmin = (args: string[], input?: string) =>
    through(
      ['--as-admin', '--json', ...args],
      { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
      input,
    );
  const parsed = (run: Run) => {
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as Record<string, unknown>;
  };

  it('when asked for --version, then it prints the package version and exits 0', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL(import.meta.resolve('@authstack/client/package.json')), 'utf8'),
    ) as {
      version: string;
    };
    const run = await cli(['--version']);
    assert.deepEqual([run.code, run.stdout.trim()], [0, version]);
  });

  it('when every help page is read, then every command and every option has a description, and the exit codes are listed', async () => {
    const undescribed: string[] = [];
    const visit = async (path: string[]) => {
      const help = (await cli([...path, '--help'])).stdout;
      for (const section of ['Options', 'Commands']) {
        const body = help.split(`${section}:\n`)[1]?.split('\n\n')[0] ?? '';
        // An entry: two spaces, the term, two or more spaces, the description (wrapped lines are indented further).
        for (const line of body.split('\n').filter((l) => /^ {2}\S/.test(l))) {
          if (!/^ {2}\S.*?\s{2,}\S/.test(line))
            undescribed.push(`${path.join(' ') || 'authstack'}: ${line.trim()}`);
        }
        if (section === 'Commands') {
          for (const m of body.matchAll(/^ {2}([a-z][a-z-]*)/gm))
            if (m[1] !== 'help') await visit([...path, m[1]!]);
        }
      }
    };
    await visit([]);
    assert.deepEqual(undescribed, []);
    const top = (await cli(['--help'])).stdout;
    for (const code of Object.values(EXIT)) assert.match(top, new RegExp(`^ {2}${code} {2}`, 'm'));
  });

  it('when every command runs with --json, then its output parses', async () => {
    const tokens = join(dir, 'user-tokens.json');
    const env = { AUTHSTACK_PASSWORD: user.password };
    const own = (args: string[]) => through(['--json', '--token-file', tokens, ...args], env);
    assert.equal(parsed(await own(['register', user.username])).username, user.username);
    assert.equal(parsed(await own(['login', user.username])).tokens_saved, true);
    assert.equal(parsed(await own(['whoami'])).username, user.username);
    assert.equal(parsed(await own(['protected'])).status, 'success');
    assert.ok(Array.isArray(JSON.parse((await own(['sessions'])).stdout)));

    assert.equal(parsed(await asAdmin(['admin'])).status, 'success');
    assert.ok(Array.isArray(parsed(await asAdmin(['users', 'list', '--limit', '5'])).users));
    assert.ok(Array.isArray(parsed(await asAdmin(['users', 'list', '--all'])).users));
    const found = parsed(await asAdmin(['users', 'find', user.username.toUpperCase()]));
    assert.equal(found.username, user.username);
    assert.deepEqual(parsed(await asAdmin(['users', 'grant', user.username, 'admin'])).roles, [
      'user',
      'admin',
    ]);
    assert.deepEqual(parsed(await asAdmin(['users', 'remove-role', user.username, 'admin'])).roles, ['user']);
    assert.equal(parsed(await asAdmin(['users', 'disable', user.username])).disabled, true);
    assert.equal(parsed(await asAdmin(['users', 'enable', user.username])).disabled, false);
    await own(['login', user.username]);
    const sessions = parsed(await asAdmin(['users', 'sessions', user.username])).sessions as { id: string }[];
    assert.equal(sessions.length, 1);
    const one = parsed(
      await asAdmin(['users', 'end-sessions', user.username, '--session-id', sessions[0]!.id]),
    );
    assert.equal(one.revoked, 1);
    assert.equal(parsed(await asAdmin(['users', 'end-sessions', user.username])).revoked, 0);
    const events = parsed(await asAdmin(['events', '--user', user.username, '--limit', '50'])).events as {
      type: string;
      details: { by?: string };
    }[];
    for (const type of ['role_change', 'user_disabled', 'user_enabled', 'sessions_revoked']) {
      assert.ok(
        events.some((e) => e.type === type && e.details.by === ADMIN.username),
        `${type} audited with the admin's name`,
      );
    }
    assert.match(String(parsed(await asAdmin(['keys', 'rotate'])).kid), /\S/);
    const exported = await asAdmin(['accounts', 'export']);
    for (const line of exported.stdout.trimEnd().split('\n')) assert.ok(JSON.parse(line).password_hash);
    const file = join(dir, 'out.jsonl');
    assert.ok(Number(parsed(await asAdmin(['accounts', 'export', '--output', file])).exported) >= 2);
    const again = await asAdmin(['accounts', 'import', file]);
    assert.equal(again.code, EXIT.refused, 'some accounts refused: exit 1');
    const report = JSON.parse(again.stdout) as { imported: number; refused: { reason: string }[] };
    assert.equal(report.imported, 0, 'every account exists already');
    assert.ok(report.refused.every((r) => r.reason === 'duplicate'));
    assert.equal(parsed(await own(['logout'])).status, 'logged out');

    const junit = join(dir, 'scenarios.xml');
    const scenarios = await through(['--json', 'scenarios', '--junit', junit], {
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
    });
    const scenarioReport = parsed(scenarios) as { passed: number; failed: number; results: unknown[] };
    assert.equal(scenarioReport.failed, 0, scenarios.stdout);
    assert.equal(scenarioReport.results.length, scenarioReport.passed);
    const xml = readFileSync(junit, 'utf8');
    assert.match(
      xml,
      new RegExp(`<testsuite name="authstack scenarios" tests="${scenarioReport.passed}" failures="0"`),
    );
  });

  it('when the server refuses, then exit 1 with the problem code and detail', async () => {
    const run = await through(['login', user.username], { AUTHSTACK_PASSWORD: 'not the password at all' });
    assert.equal(run.code, EXIT.refused);
    assert.match(run.stderr, /^error: 401 invalid_credentials: The username or password is incorrect\.$/m);
    const json = await through(['--json', 'users', 'find', 'nobody-here'], {});
    assert.equal(json.code, EXIT.refused);
    assert.equal(JSON.parse(json.stderr).error.kind, 'refused');
  });

  it('when the command line is wrong, then exit 2', async () => {
    for (const args of [
      ['no-such-command'],
      ['--no-such-option', 'whoami'],
      ['users', 'find'],
      ['users', 'list', '--limit', 'x'],
    ]) {
      assert.equal((await cli(args)).code, EXIT.usage, args.join(' '));
    }
    const noPassword = await through(['login', 'someone']);
    assert.equal(noPassword.code, EXIT.usage);
    assert.match(noPassword.stderr, /AUTHSTACK_PASSWORD/);
  });

  it('when nothing listens at the base URL, then exit 3 naming a refused connection', async () => {
    const base = `https://127.0.0.1:${await closedPort()}`;
    const run = await cli(['--base-url', base, 'login', 'someone'], { AUTHSTACK_PASSWORD: 'whatever it is' });
    assert.equal(run.code, EXIT.unreachable);
    assert.match(run.stderr, /^error: connection refused by 127\.0\.0\.1:\d+/m);
    const json = await cli(['--json', '--base-url', base, 'scenarios']);
    assert.equal(json.code, EXIT.unreachable);
    assert.deepEqual(
      [JSON.parse(json.stderr).error.kind, JSON.parse(json.stderr).error.reason],
      ['refused', 'ECONNREFUSED'],
    );
  });

  it('when the gateway certificate is not trusted, then exit 4 with the --ca hint', async () => {
    const run = await cli(['--base-url', gateway.httpsUrl, 'whoami']);
    assert.equal(run.code, EXIT.untrustedCertificate);
    assert.match(
      run.stderr,
      /^error: the certificate of [\w.]+:\d+ is not trusted \(\w+\): pass the CA .* with --ca <file>/m,
    );
    const json = await cli(['--json', '--base-url', gateway.httpsUrl, 'scenarios']);
    assert.equal(json.code, EXIT.untrustedCertificate);
    assert.equal(JSON.parse(json.stderr).error.kind, 'untrusted_certificate');
  });

  it('when the accounts are exported and imported into an empty database with the same pepper, then every account logs in with its old password', async (t) => {
    const people = [
      { username: username('moved'), password: 'first moved passphrase' },
      { username: username('moved'), password: 'second moved passphrase' },
    ];
    for (const person of people) {
      assert.equal(
        (await through(['register', person.username], { AUTHSTACK_PASSWORD: person.password })).code,
        0,
      );
    }
    await asAdmin(['users', 'disable', people[1]!.username]);
    const file = join(dir, 'moving.jsonl');
    writeFileSync(file, (await asAdmin(['accounts', 'export'])).stdout);
    const exported = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));

    const target = await startAuthFixture(testScope(t), {
      env: {
        BOOTSTRAP_ADMIN_USERNAME: 'newchief',
        BOOTSTRAP_ADMIN_PASSWORD: 'new chief passphrase 9',
        PASSWORD_PEPPER: pepper,
      },
    });
    const there = (args: string[], env: Record<string, string>) =>
      cli(['--base-url', target.url, '--insecure-http-loopback', '--json', ...args], env);
    const admin = { ADMIN_USERNAME: 'newchief', ADMIN_PASSWORD: 'new chief passphrase 9' };
    const imported = parsed(await there(['--as-admin', 'accounts', 'import', file], admin));
    assert.deepEqual([imported.imported, imported.refused], [exported.length, []]);

    const login = await there(['login', people[0]!.username], { AUTHSTACK_PASSWORD: people[0]!.password });
    assert.equal(parsed(login).message, `Welcome ${people[0]!.username}!`);
    const boss = await there(['login', ADMIN.username], { AUTHSTACK_PASSWORD: ADMIN.password });
    assert.deepEqual((parsed(boss).user as { roles: string[] }).roles, ['user', 'admin']);
    const disabled = await there(['login', people[1]!.username], {
      AUTHSTACK_PASSWORD: people[1]!.password,
    });
    assert.equal(disabled.code, EXIT.refused, 'still disabled there');
    const list = parsed(await there(['--as-admin', 'users', 'list', '--all'], admin)).users as {
      username: string;
      roles: string[];
      disabled: boolean;
      created_at: string;
    }[];
    for (const account of exported) {
      const copy = list.find((u) => u.username === account.username)!;
      assert.deepEqual(
        [copy.roles, copy.disabled, copy.created_at],
        [account.roles, account.disabled, account.created_at],
        account.username,
      );
    }
    const twice = JSON.parse((await there(['--as-admin', 'accounts', 'import', file], admin)).stdout);
    assert.equal(twice.imported, 0);
    assert.equal(
      (twice.refused as { reason: string }[]).every((r) => r.reason === 'duplicate'),
      true,
    );
  });
});
