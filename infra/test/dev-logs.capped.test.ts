/**
 * `make dev`'s service logs are capped: `run_logged` (scripts/lib.sh, what scripts/dev.sh starts every process
 * with) sends a command's output through scripts/capped-log.ts, which rotates the file at DEV_LOG_MAX_BYTES and keeps
 * DEV_LOG_KEEP older ones. Each test runs the real launcher in bash on a command that writes far more than the cap.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, suiteScope, useTempDir } from '@authstack/testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CAP = 4096;

describe('make dev: every service log is capped and rotated', () => {
  const scope = suiteScope();
  const dir = useTempDir(scope, 'authstack-dev-logs');

  /** Starts `script` (bash) with run_logged into `<dir>/<name>.log`; returns its pid as run_logged reported it. */
  function runLogged(name: string, script: string, keep = 2): { pid: string; printed: string } {
    const result = spawnSync(
      'bash',
      [
        '-c',
        '. scripts/lib.sh && run_logged "$1" bash -c "$2" && echo "$LOGGED_PID"',
        'bash',
        join(dir, `${name}.log`),
        script,
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, DEV_LOG_MAX_BYTES: String(CAP), DEV_LOG_KEEP: String(keep) },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    return { pid: result.stdout.trim(), printed: result.stdout };
  }

  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const lines = (count: number, tag: string) =>
    Array.from(
      { length: count },
      (_, i) => `{"level":30,"msg":"${tag} request ${i}","pad":"${'x'.repeat(40)}"}`,
    );

  it('when a service writes 30 times the cap, then its log and two older files hold only whole lines, none over the cap, the newest last', async () => {
    const written = lines(2000, 'burst'); // about 150 KB
    const { pid } = runLogged(
      'burst',
      `echo "pid=$$"; for i in $(seq 0 1999); do printf '{"level":30,"msg":"burst request %s","pad":"%s"}\\n' "$i" "${'x'.repeat(40)}"; done; echo "the end" >&2`,
    );
    await eventually(
      async () => existsSync(join(dir, 'burst.log')) && read('burst.log').endsWith('the end\n'),
      10_000,
    );
    const files = ['burst.log.2', 'burst.log.1', 'burst.log'];
    for (const file of files) assert.ok(statSync(join(dir, file)).size <= CAP, `${file} is within the cap`);
    assert.ok(!existsSync(join(dir, 'burst.log.3')), 'no third older file');
    const kept = files.map(read).join('');
    assert.ok(kept.length > 2 * CAP, 'the older files are full');
    const keptLines = kept.split('\n').slice(0, -1);
    // A contiguous, whole-line tail of what was written, then the error output: nothing cut, nothing reordered.
    assert.equal(keptLines.at(-1), 'the end');
    const tail = keptLines.slice(0, -1);
    assert.deepEqual(tail, written.slice(written.length - tail.length));
    assert.equal(read('burst.log.2').split('\n')[0], tail[0]);
    assert.ok(!read('burst.log').includes(`pid=${pid}`), 'the first lines were rotated away');
  });

  it('when run_logged starts a command, then the pid it reports is the command itself (what make dev-down signals)', async () => {
    const { pid } = runLogged('pid', 'echo "pid=$$"');
    await eventually(async () => existsSync(join(dir, 'pid.log')) && read('pid.log').length > 0, 10_000);
    assert.equal(read('pid.log'), `pid=${pid}\n`);
  });

  for (const [variable, value] of [
    ['DEV_LOG_MAX_BYTES', '10M'],
    ['DEV_LOG_MAX_BYTES', '100'],
    ['DEV_LOG_KEEP', '-1'],
  ] as const) {
    it(`when ${variable} is ${value}, then run_logged refuses, naming it, and starts nothing`, () => {
      const result = spawnSync(
        'bash',
        ['-c', '. scripts/lib.sh && run_logged "$1" touch "$1.started"', 'bash', join(dir, 'refused.log')],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, [variable]: value } },
      );
      assert.equal(result.status, 1);
      assert.match(result.stderr, new RegExp(`^dev: ${variable} must be`));
      assert.ok(!existsSync(join(dir, 'refused.log.started')));
    });
  }

  it('when one line is longer than the cap, then it is cut at the cap and no file grows past it', async () => {
    runLogged('long', `head -c ${3 * CAP} /dev/zero | tr '\\0' y; echo; echo after`, 5);
    await eventually(
      async () => existsSync(join(dir, 'long.log')) && read('long.log').endsWith('after\n'),
      10_000,
    );
    for (const file of ['long.log', 'long.log.1', 'long.log.2', 'long.log.3']) {
      assert.ok(statSync(join(dir, file)).size <= CAP, file);
    }
    assert.equal(read('long.log.3'), 'y'.repeat(CAP));
  });
});
