/**
 * `make load`, `up-load`, `observe`, `seed` and `unseed` keep the container stack they find, plain or ha, observed or
 * not; `make up` is the plain stack and `make up-ha` the ha one, each with the observability profile while it runs.
 * The stack is read by scripts/stack-files.sh from the running containers' compose labels. Run with `make -n` on a
 * copy of the Makefile and the script, with a fake `docker` first on PATH that answers `compose ps` and `inspect` as
 * the stack of each case would; every case is checked against the others, so no fixed set of files passes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pathWithout, testScope, useTempDir } from '@authstack/testing';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROJECT = 'h-kept';

/**
 * docker, as far as stack-files.sh and the Makefile ask it: `compose ps --status running -q <service>` answers an id
 * for a running service of the project FAKE_PROJECT only (compose's project: COMPOSE_PROJECT_NAME), `inspect` the
 * config_files label of auth's or the gateway's container. Anything else is a failure.
 */
const FAKE_DOCKER = `
for last; do :; done
case "$1 $2" in
  "compose ps")
    case " $* " in *" --status running -q "*) ;; *) echo "fake docker: $*" >&2; exit 1 ;; esac
    [ "\${COMPOSE_PROJECT_NAME:-}" = "$FAKE_PROJECT" ] || exit 0
    case " $FAKE_RUNNING " in *" $last "*) echo "c0ffee-$last" ;; esac ;;
  "inspect --format")
    case "$last" in
      c0ffee-auth) echo "$FAKE_AUTH_FILES" ;;
      c0ffee-gateway) echo "$FAKE_GATEWAY_FILES" ;;
      *) echo "Error: No such object: $last" >&2; exit 1 ;;
    esac ;;
  *) echo "fake docker: unexpected $*" >&2; exit 1 ;;
esac`;

/** The label compose writes: the absolute paths of the files of the command that created the container. */
const label = (...files: string[]) => files.map((file) => `/home/someone/authstack/${file}`).join(',');
const BASE = 'docker-compose.yml';
const HA = 'docker-compose.ha.yml';
const OBS = 'docker-compose.observability.yml';
const LOAD = 'docker-compose.load.yml';

interface Stack {
  running: string[];
  auth?: string;
  gateway?: string;
}
const STACKS = {
  /** make up-ha on a fresh machine. */
  ha: { running: ['auth', 'gateway'], auth: label(BASE, HA), gateway: label(BASE, HA) },
  /** make up, then make up-ha: the ha file does not change the gateway, so compose kept it and its label. */
  haAfterPlain: { running: ['auth', 'gateway'], auth: label(BASE, HA), gateway: label(BASE) },
  /** make up-ha, make observe. */
  haObserved: {
    running: ['auth', 'gateway', 'prometheus'],
    auth: label(BASE, HA, OBS),
    gateway: label(BASE, HA),
  },
  /** make up-ha, make load: auth was recreated with the load file. */
  haLoaded: { running: ['auth', 'gateway'], auth: label(BASE, HA, LOAD), gateway: label(BASE, HA, LOAD) },
  plain: { running: ['auth', 'gateway'], auth: label(BASE), gateway: label(BASE) },
  /** make up, make observe. */
  plainObserved: {
    running: ['auth', 'gateway', 'prometheus'],
    auth: label(BASE, OBS),
    gateway: label(BASE),
  },
  none: { running: [] },
} satisfies Record<string, Stack>;
type StackName = keyof typeof STACKS;

function checkout(t: TestContext): { root: string; PATH: string } {
  const dir = useTempDir(testScope(t), 'authstack-stack-kept');
  const root = join(dir, 'checkout');
  mkdirSync(join(root, 'scripts'), { recursive: true });
  cpSync(join(ROOT, 'Makefile'), join(root, 'Makefile'));
  cpSync(join(ROOT, 'scripts/stack-files.sh'), join(root, 'scripts/stack-files.sh'));
  return { root, PATH: pathWithout(dir, ['docker'], { docker: FAKE_DOCKER }) };
}

function run(where: Checkout, command: string[], stack: Stack, project = PROJECT): string {
  const result = spawnSync(command[0]!, command.slice(1), {
    cwd: where.root,
    encoding: 'utf8',
    env: {
      PATH: where.PATH,
      HOME: where.root,
      MAKEFLAGS: '',
      MFLAGS: '',
      COMPOSE_PROJECT_NAME: project,
      FAKE_PROJECT: PROJECT,
      FAKE_RUNNING: stack.running.join(' '),
      FAKE_AUTH_FILES: stack.auth ?? '',
      FAKE_GATEWAY_FILES: stack.gateway ?? '',
    },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stderr, /fake docker|No such/, result.stderr);
  return result.stdout;
}

interface ComposeCall {
  files: string[];
  profiles: string[];
  /** The subcommand and what follows it, spaces collapsed. */
  command: string;
}
/** The `docker compose` commands a `make -n` prints, continuation lines joined. */
function composeCalls(out: string): ComposeCall[] {
  const calls: ComposeCall[] = [];
  for (const line of out.replace(/\\\n\s*/g, ' ').split('\n')) {
    for (const match of line.matchAll(/docker compose ((?:(?:-f|--profile) \S+ +)*)([a-z][^;]*)/g)) {
      const flags = match[1]!.trim().split(/\s+/).filter(Boolean);
      const files: string[] = [];
      const profiles: string[] = [];
      for (let i = 0; i < flags.length; i += 2) (flags[i] === '-f' ? files : profiles).push(flags[i + 1]!);
      calls.push({ files, profiles, command: match[2]!.trim().replace(/\s+/g, ' ') });
    }
    // scripts/gateway-refresh.sh takes the stack's compose arguments: recorded as a call of its own
    for (const match of line.matchAll(/scripts\/gateway-refresh\.sh ((?:(?:-f|--profile) \S+ *)*)/g)) {
      const flags = match[1]!.trim().split(/\s+/).filter(Boolean);
      const files: string[] = [];
      const profiles: string[] = [];
      for (let i = 0; i < flags.length; i += 2) (flags[i] === '-f' ? files : profiles).push(flags[i + 1]!);
      calls.push({ files, profiles, command: 'gateway-refresh' });
    }
  }
  return calls;
}

type Checkout = ReturnType<typeof checkout>;
const makeN = (where: Checkout, target: string[], stack: StackName, project?: string) =>
  composeCalls(run(where, ['make', '--no-print-directory', '-n', ...target], STACKS[stack], project));

/** The one compose call of a recipe whose command starts with `command` (or is `command`, when exact). */
function call(calls: ComposeCall[], command: string, exact = false): ComposeCall {
  const found = calls.filter((c) => (exact ? c.command === command : c.command.startsWith(command)));
  assert.equal(found.length, 1, `one "${command}" in ${JSON.stringify(calls)}`);
  return found[0]!;
}

const OBSERVED = { files: [OBS], profiles: ['observability'] };
const stackOf = (ha: boolean, observed: boolean) => ({
  files: [BASE, ...(ha ? [HA] : []), ...(observed ? OBSERVED.files : [])],
  profiles: observed ? OBSERVED.profiles : [],
});

describe('make keeps the container stack it finds', () => {
  // Each test runs one target against every stack: a fixed list of files in the Makefile fails on one of them.
  const expected: Record<StackName, { ha: boolean; observed: boolean }> = {
    ha: { ha: true, observed: false },
    haAfterPlain: { ha: true, observed: false },
    haObserved: { ha: true, observed: true },
    haLoaded: { ha: true, observed: false },
    plain: { ha: false, observed: false },
    plainObserved: { ha: false, observed: true },
    none: { ha: false, observed: false },
  };
  const stacks = Object.keys(STACKS) as StackName[];

  it('when make load runs, then the stack that runs gets the load file on top (after make up-ha: the Sentinel settings stay)', (t) => {
    const where = checkout(t);
    for (const stack of stacks) {
      const { ha, observed } = expected[stack];
      const calls = makeN(where, ['load', 'SCRIPT=01-login'], stack);
      const up = call(calls, 'up ');
      assert.deepEqual(
        { files: up.files, profiles: up.profiles },
        {
          files: [...stackOf(ha, observed).files, LOAD],
          profiles: stackOf(ha, observed).profiles,
        },
        stack,
      );
      assert.equal(up.command, 'up -d --wait', stack);
      const k6 = call(calls, 'run ');
      assert.deepEqual(k6.files, up.files, stack);
      assert.deepEqual(k6.profiles, [...up.profiles, 'load'], stack);
      assert.match(k6.command, /^run --rm k6 run --tag testid=\$report /, stack);
      assert.equal(k6.command.includes('-o experimental-prometheus-rw'), observed, stack);
    }
  });

  it('when make load runs the credential-stuffing script, then the stack is kept without the load file', (t) => {
    const where = checkout(t);
    for (const stack of stacks) {
      const { ha, observed } = expected[stack];
      const up = call(makeN(where, ['load', 'SCRIPT=05-credential-stuffing'], stack), 'up ');
      assert.deepEqual({ files: up.files, profiles: up.profiles }, stackOf(ha, observed), stack);
    }
  });

  it('when make load runs, then every run is tagged with its report name (the k6 dashboard selects runs by testid)', (t) => {
    const where = checkout(t);
    const out = run(
      where,
      ['make', '--no-print-directory', '-n', 'load', 'SCRIPT=02-protected', 'PROFILE=average'],
      STACKS.plain,
    );
    const joined = out.replace(/\\\n\s*/g, ' ');
    assert.match(joined, /report=02-protected-average-\$\(date -u \+%Y%m%dT%H%M%SZ\);/);
    assert.match(joined, /K6_REPORT=\$report .*--tag testid=\$report /);
  });

  it('when make up-load runs, then the stack that runs gets the load file on top', (t) => {
    const where = checkout(t);
    for (const stack of stacks) {
      const { ha, observed } = expected[stack];
      const up = call(makeN(where, ['up-load'], stack), 'up ');
      assert.deepEqual(
        { files: up.files, profiles: up.profiles },
        {
          files: [...stackOf(ha, observed).files, LOAD],
          profiles: stackOf(ha, observed).profiles,
        },
        stack,
      );
    }
  });

  it('when make observe runs, then the stack that runs is kept and gets the observability override and profile', (t) => {
    const where = checkout(t);
    for (const stack of stacks) {
      const calls = makeN(where, ['observe'], stack);
      const up = call(calls, 'up -d --wait', true);
      assert.deepEqual({ files: up.files, profiles: up.profiles }, stackOf(expected[stack].ha, true), stack);
    }
  });

  it('when a target brings the stack up, then scripts/gateway-refresh.sh checks the gateway against the same stack', (t) => {
    // nginx resolves the services' addresses only when it starts: a service recreated under a gateway that was not
    // must be followed by the gateway (scripts/gateway-refresh.sh decides; gateway-refresh.test.ts tests it).
    const where = checkout(t);
    for (const stack of stacks)
      for (const target of ['observe', 'up', 'up-ha', 'up-load', 'load']) {
        const calls = makeN(where, [target], stack);
        const up = call(calls, 'up -d --wait', true);
        const refresh = call(calls, 'gateway-refresh', true);
        assert.deepEqual(
          { files: refresh.files, profiles: refresh.profiles },
          { files: up.files, profiles: up.profiles },
          `${target} on ${stack}`,
        );
        assert.ok(calls.indexOf(refresh) > calls.indexOf(up), `${target}: the refresh follows the up`);
      }
  });

  it('when make up runs, then it is the plain stack, with the observability override and profile while they run', (t) => {
    const where = checkout(t);
    for (const stack of stacks) {
      const up = call(makeN(where, ['up'], stack), 'up ');
      assert.deepEqual(
        { files: up.files, profiles: up.profiles },
        stackOf(false, expected[stack].observed),
        stack,
      );
    }
  });

  it('when make up-ha runs, then it is the ha stack, with the observability override and profile while they run', (t) => {
    const where = checkout(t);
    for (const stack of stacks) {
      const up = call(makeN(where, ['up-ha'], stack), 'up ');
      assert.deepEqual(
        { files: up.files, profiles: up.profiles },
        stackOf(true, expected[stack].observed),
        stack,
      );
    }
  });

  for (const target of ['seed', 'unseed']) {
    it(`when make ${target} runs, then it execs in auth of the stack that runs and recomposes nothing`, (t) => {
      const where = checkout(t);
      for (const stack of stacks.filter((s) => s !== 'none')) {
        const { ha, observed } = expected[stack];
        const calls = makeN(where, [target], stack);
        assert.deepEqual(
          calls.map((c) => c.command.split(' ')[0]),
          ['exec'],
          stack,
        );
        const exec = call(calls, 'exec ');
        assert.deepEqual({ files: exec.files, profiles: exec.profiles }, stackOf(ha, observed), stack);
        assert.match(
          exec.command,
          new RegExp(`^exec -T auth node services/auth/src/cli/load-test-users\\.ts ${target}`),
        );
      }
    });
  }

  it('when the stack belongs to another compose project, then it is not taken for this one (COMPOSE_PROJECT_NAME)', (t) => {
    const where = checkout(t);
    const ours = call(makeN(where, ['load', 'SCRIPT=01-login'], 'haObserved', PROJECT), 'up ');
    assert.deepEqual(ours.files, [BASE, HA, OBS, LOAD]);
    const theirs = call(makeN(where, ['load', 'SCRIPT=01-login'], 'haObserved', 'someone-else'), 'up ');
    assert.deepEqual(theirs.files, [BASE, LOAD]);
    assert.deepEqual(theirs.profiles, []);
  });

  it('when the Makefile is run, then the files come from scripts/stack-files.sh (replaced here by a stand-in)', (t) => {
    const where = checkout(t);
    writeFileSync(join(where.root, 'scripts/stack-files.sh'), 'echo "-f stand-in.yml" "$@"\n');
    const out = (target: string) =>
      composeCalls(
        run(where, ['make', '--no-print-directory', '-n', target, 'SCRIPT=01-login'], STACKS.plain),
      );
    assert.deepEqual(call(out('load'), 'up ').files, ['stand-in.yml', LOAD]);
    assert.deepEqual(call(out('up-load'), 'up ').files, ['stand-in.yml', LOAD]);
    assert.deepEqual(call(out('seed'), 'exec ').files, ['stand-in.yml']);
    assert.deepEqual(call(out('unseed'), 'exec ').files, ['stand-in.yml']);
    // The stand-in echoes its arguments after the file: what each target asks of the script.
    assert.match(
      run(where, ['make', '-n', 'observe'], STACKS.plain),
      /docker compose -f stand-in\.yml --observe up/,
    );
    assert.match(run(where, ['make', '-n', 'up'], STACKS.plain), /docker compose -f stand-in\.yml plain up/);
    assert.match(run(where, ['make', '-n', 'up-ha'], STACKS.plain), /docker compose -f stand-in\.yml ha up/);
  });
});

describe('scripts/stack-files.sh', () => {
  const files = (t: TestContext, stack: Stack, args: string[] = []) =>
    run(checkout(t), ['bash', 'scripts/stack-files.sh', ...args], stack).trim();

  it("when the gateway's label is older than auth's, then auth's is read (the ha file does not change the gateway)", (t) => {
    assert.equal(files(t, STACKS.haAfterPlain), '-f docker-compose.yml -f docker-compose.ha.yml');
    // And the other way round: a plain auth beside a gateway last created with the ha file is a plain stack.
    assert.equal(
      files(t, { running: ['auth', 'gateway'], auth: label(BASE), gateway: label(BASE, HA) }),
      '-f docker-compose.yml',
    );
  });

  it('when auth does not run, then the gateway tells the stack', (t) => {
    assert.equal(
      files(t, { running: ['gateway'], gateway: label(BASE, HA) }),
      '-f docker-compose.yml -f docker-compose.ha.yml',
    );
  });

  it('when the label names other files, then only the stack files are kept, in their order', (t) => {
    assert.equal(
      files(t, {
        running: ['auth', 'gateway'],
        auth: label(HA, BASE, LOAD, 'docker-compose.test.yml', 'my-ha.yml.bak'),
      }),
      '-f docker-compose.yml -f docker-compose.ha.yml',
    );
  });

  it('when the observability override is in the label but Prometheus does not run, then it is left out', (t) => {
    assert.equal(
      files(t, { running: ['auth', 'gateway'], auth: label(BASE, HA, OBS) }),
      '-f docker-compose.yml -f docker-compose.ha.yml',
    );
  });

  it('when asked for a stack or the override, then it gives it whatever runs', (t) => {
    assert.equal(files(t, STACKS.plain, ['ha']), '-f docker-compose.yml -f docker-compose.ha.yml');
    assert.equal(
      files(t, STACKS.haObserved, ['plain']),
      '-f docker-compose.yml -f docker-compose.observability.yml --profile observability',
    );
    assert.equal(
      files(t, STACKS.none, ['--observe']),
      '-f docker-compose.yml -f docker-compose.observability.yml --profile observability',
    );
  });

  it('when an argument is unknown, then it stops and names it', () => {
    const result = spawnSync('bash', [join(ROOT, 'scripts/stack-files.sh'), 'load'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown argument 'load'/);
  });
});

describe('the files make load stacks on the ha stack', () => {
  // Compose merges environment maps key by key: the ha file's settings survive the load and observability files as
  // long as neither sets one of the same keys for the same service.
  const environments = (file: string) => {
    const doc = parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    return Object.fromEntries(
      Object.entries(doc.services).map(([name, service]) => [name, Object.keys(service.environment ?? {})]),
    );
  };

  it("when the load or observability file is added to the ha stack, then none of them sets a key of the ha file's Redis settings", () => {
    const ha = environments(HA);
    assert.ok(
      ha.auth!.some((key) => key.startsWith('REDIS_SENTINEL')),
      'the ha file gives auth its Sentinel settings',
    );
    for (const file of [LOAD, OBS]) {
      const other = environments(file);
      for (const [service, keys] of Object.entries(ha)) {
        const overlap = keys.filter((key) => other[service]?.includes(key));
        assert.deepEqual(overlap, [], `${file} sets ${service}'s ${overlap.join(', ')}`);
      }
    }
  });
});
