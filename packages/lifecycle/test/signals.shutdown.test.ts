import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/held-service.ts', import.meta.url));

interface Running {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  stdout: string[];
  stderr: () => string;
  /** The first stdout line matching `pattern`, as soon as it is printed; rejects if the process exits first. */
  line(pattern: RegExp): Promise<string>;
}

function run(env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [fixture], { env: { PATH: process.env.PATH, ...env } });
  const stdout: string[] = [];
  let stderr = '';
  const waiting = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout.push(line);
    for (const waiter of waiting) if (waiter.pattern.test(line)) waiter.resolve(line);
  });
  // 'close', not 'exit': every line the process printed has been read by then.
  const exited = once(child, 'close').then(([code]) => code as number | null);
  return {
    child,
    exited,
    stdout,
    stderr: () => stderr,
    line(pattern) {
      const seen = stdout.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiting.add({ pattern, resolve });
        void exited.then(() => reject(new Error(`exited before printing ${pattern}: ${stderr}`)));
      });
    },
  };
}

async function listening(service: Running): Promise<string> {
  const line = await service.line(/"msg":"fixture listening"/);
  return (JSON.parse(line) as { url: string }).url;
}

describe('runMain: configuration, start-up and signals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`when ${signal} arrives with a request in flight, then readiness fails, the request completes, resources close and the process exits 0`, {
      timeout: 30_000,
    }, async () => {
      const service = run();
      try {
        const url = await listening(service);
        assert.equal((await fetch(`${url}/readyz`)).status, 200);
        const held = fetch(`${url}/hold`);
        await service.line(/"msg":"holding"/);
        service.child.kill(signal);
        const res = await held;
        assert.equal(res.status, 200, 'the request in flight finished');
        assert.equal(res.headers.get('connection'), 'close');
        assert.deepEqual(await res.json(), { ready: false }, 'readiness was already failing');
        assert.equal(await service.exited, 0);
        // Both lines, in whatever order pino flushed them at exit; the order of the steps is shown in serve.stop.test.ts.
        const logged = service.stdout.map((line) => JSON.parse(line) as { msg: string; signal?: string });
        assert.ok(logged.some((line) => line.msg === 'shutting down' && line.signal === signal));
        assert.ok(
          logged.some((line) => line.msg === 'closed'),
          'resources closed',
        );
        await assert.rejects(fetch(`${url}/healthz`), TypeError, 'no longer listening');
      } finally {
        if (service.child.exitCode === null) service.child.kill('SIGKILL');
      }
    });
  }

  it('when started with BUILD_COMMIT set, then the start-up log and /healthz name the version and that commit', async () => {
    const service = run({ BUILD_COMMIT: '0123456789ab' });
    try {
      const raw = await service.line(/"msg":"fixture listening"/);
      const line = JSON.parse(raw) as Record<string, string>;
      const build = { service: 'fixture', version: '0.1.0', commit: '0123456789ab' };
      assert.deepEqual({ service: line.service, version: line.version, commit: line.commit }, build);
      assert.equal(raw.split('"service":').length, 2, 'the service is named once');
      assert.deepEqual(await (await fetch(`${line.url}/healthz`)).json(), { status: 'ok', ...build });
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('when BUILD_COMMIT is not a commit and git is not on PATH, then the commit is "unknown"', async () => {
    const service = run({ BUILD_COMMIT: 'not a commit', PATH: '/nonexistent' });
    try {
      const url = await listening(service);
      const health = (await (await fetch(`${url}/healthz`)).json()) as { commit: string };
      assert.equal(health.commit, 'unknown');
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('when the configuration is bad, then the process exits 1 naming the variable', async () => {
    const service = run({ FIXTURE_FAIL: 'config' });
    assert.equal(await service.exited, 1);
    assert.match(service.stderr(), /^fixture: configuration error: FIXTURE_PORT: must be a port number$/m);
  });

  it('when start-up fails, then the process exits 1 saying why', async () => {
    const service = run({ FIXTURE_FAIL: 'start' });
    assert.equal(await service.exited, 1);
    assert.match(service.stderr(), /^fixture: start-up failed: database unreachable$/m);
  });
});
