import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AuthFixture } from '@authstack/auth/testing';
import { suiteScope, useTempDir } from '@authstack/testing';
import { startGatewayPair } from '../../e2e/support.ts';
import type { Gateway, makeCerts } from '../../infra/nginx/local-gateway.ts';
import { k6Options, runK6Script, type StandinResult } from './host.ts';

const LOAD_TESTS = fileURLToPath(new URL('../', import.meta.url));
const SEED_CLI = fileURLToPath(import.meta.resolve('@authstack/auth/cli/load-test-users'));
const script = (name: string) => join(LOAD_TESTS, `${name}.ts`);

/** Every check passed, every request answered as the script expected, the summary saved as JSON and text. */
function assertClean(result: StandinResult, scenarios: string[]) {
  assert.deepEqual(result.scenarios, scenarios);
  assert.ok(result.requests.length > 0);
  for (const [name, tally] of Object.entries(result.checks))
    assert.equal(tally.fails, 0, `check "${name}" failed`);
  const unexpected = result.requests.filter((r) => !r.expected);
  assert.deepEqual(unexpected, [], 'requests the script did not expect to fail');
  assert.equal(result.files.length, 2);
  const json = result.files.find((f) => f.endsWith('.json'))!;
  assert.ok(JSON.parse(readFileSync(json, 'utf8')).metrics.http_reqs.values.count > 0);
  assert.match(readFileSync(result.files.find((f) => f.endsWith('.txt'))!, 'utf8'), /http_req_duration/);
}

describe('the k6 scripts under the k6 stand-in, against the real native stack through nginx', () => {
  const scope = suiteScope();
  let auth: AuthFixture;
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;
  let work: string;
  let env: Record<string, string>;

  before(async () => {
    // The human limits stay on except the daily per-address failure budget, lowered so that the one
    // credential-stuffing iteration (10 attempts, run last) meets the limiter.
    ({ auth, certs, gateway } = await startGatewayPair(scope, {
      env: { LOGIN_MAX_FAILURES_PER_IP_PER_DAY: '8' },
    }));
    work = useTempDir(scope, 'authstack-k6');
    const { stdout } = await promisify(execFile)(process.execPath, [SEED_CLI, 'seed', '20'], {
      env: { ...auth.env, PATH: process.env.PATH } as NodeJS.ProcessEnv,
    });
    writeFileSync(join(work, 'users.json'), stdout);
    env = {
      BASE_URL: gateway.httpsUrl,
      SSL_CERT_FILE: certs.ca,
      USERS_PATH: join(work, 'users.json'),
      RESULTS_DIR: work,
      PROFILE: 'smoke',
      THINK: '0',
      WRONG_SHARE: '1',
      LOGOUT_P: '1',
    };
  });

  it('when 01-login runs, then its setup checks the target and an iteration logs a seeded user in', async () => {
    const result = await runK6Script(script('01-login'), env);
    assertClean(result, ['login']);
    assert.equal(result.checks['login 200']?.passes, 1);
  });

  it('when 02-protected runs, then the stateless and the session-checked targets answer 200', async () => {
    const result = await runK6Script(script('02-protected'), env);
    assertClean(result, ['stateless', 'session_checked']);
    assert.equal(result.checks['protected 200']?.passes, 1);
    assert.equal(result.checks['me 200']?.passes, 1);
  });

  it('when 03-refresh runs, then the chain rotates without a break', async () => {
    const result = await runK6Script(script('03-refresh'), env);
    assertClean(result, ['refresh']);
    assert.equal(result.checks['refresh 200']?.passes, 1);
    assert.equal(result.metrics.refresh_chain_breaks, undefined);
  });

  it('when 04-journey runs, then a wrong password, calls, refresh and logout all answer as expected', async () => {
    const result = await runK6Script(script('04-journey'), env);
    assertClean(result, ['journey']);
    for (const name of [
      'wrong password 401',
      'login 200',
      'protected 200',
      'me 200',
      'refresh 200',
      'logout 200',
    ])
      assert.ok(result.checks[name]?.passes, `check "${name}" ran`);
  });

  it('when a script meets a target that is not the stack, then its setup fails the run', async () => {
    await assert.rejects(
      runK6Script(script('02-protected'), { ...env, BASE_URL: auth.url }),
      /not reachable/,
    );
  });

  it('when 05-credential-stuffing runs (last: it spends this address budget), then the limiter refuses and no attempt logs in', async () => {
    const result = await runK6Script(script('05-credential-stuffing'), env);
    assertClean(result, ['stuffing']);
    assert.equal(result.metrics.attacker_successes, undefined, 'no attacker attempt succeeded');
    assert.ok((result.metrics.limiter_refusals?.values.passes ?? 0) > 0, 'the limiter refused some');
    assert.equal(result.checks['never logged in']?.passes, 10);
  });
});

describe("the k6 scripts' options under every profile (init code only, no target)", () => {
  const SCRIPTS = ['01-login', '02-protected', '03-refresh', '04-journey', '05-credential-stuffing'];
  const PROFILES = ['smoke', 'average', 'stress', 'spike', 'soak', 'breakpoint'];
  let work: string;
  let users: string;
  const scope = suiteScope();
  before(() => {
    work = useTempDir(scope, 'authstack-k6-options');
    users = join(work, 'users.json');
    writeFileSync(users, JSON.stringify({ password: 'p', usernames: ['loadtest-000000'] }));
  });

  for (const profile of PROFILES) {
    it(`when PROFILE=${profile}, then every script has its scenarios, a setupTimeout and the thresholds the profile asks for`, async () => {
      for (const name of SCRIPTS) {
        const options = (await k6Options(script(name), {
          PROFILE: profile,
          USERS_PATH: users,
          RATE: '10',
        })) as {
          setupTimeout: string;
          scenarios: Record<string, { executor: string; exec: string; stages?: { target: number }[] }>;
          thresholds: Record<string, (string | { threshold: string; abortOnFail: boolean })[]>;
        };
        assert.equal(options.setupTimeout, '2m', name);
        const scenarios = Object.values(options.scenarios);
        assert.ok(scenarios.length > 0, name);
        for (const scenario of scenarios) {
          assert.equal(
            scenario.executor,
            profile === 'smoke' ? 'constant-vus' : 'ramping-arrival-rate',
            name,
          );
          assert.ok(scenario.exec, name);
        }
        const rules = Object.values(options.thresholds).flat();
        assert.ok(rules.length > 0, name);
        for (const rule of rules) {
          if (profile === 'breakpoint')
            assert.equal(typeof rule === 'object' && rule.abortOnFail, true, name);
          else assert.equal(typeof rule, 'string', name);
        }
        if (profile === 'breakpoint')
          assert.equal(scenarios[0]!.stages!.at(-1)!.target, 100, 'MAX_RATE = RATE x 10');
        if (profile === 'spike') assert.equal(scenarios[0]!.stages![0]!.target, 40, 'RATE x SPIKE_FACTOR 4');
      }
    });
  }

  it('when PROFILE names no k6 test type, then the script refuses to load and says which exist', async () => {
    await assert.rejects(
      k6Options(script('01-login'), { PROFILE: 'heavy', USERS_PATH: users }),
      /PROFILE=heavy: use smoke, average, stress, spike, soak or breakpoint/,
    );
  });
});
