/**
 * Servers under test as processes of their own (auth, resource, the verifier peers): each has its own event loop,
 * libuv pool, CPU time and resident memory, none of it shared with the bench or the load generator.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../infra/nginx/local-gateway.ts';
import { childPids } from './wrk.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface NodeServer {
  pid: number;
  url: string;
  port: number;
  /** SIGTERM, wait for the exit; with `cpuProf`, the path of the `.cpuprofile` written on exit. */
  stop(): Promise<string | undefined>;
}

/**
 * `node <script>` (Node 24 strips the types, as `make dev` runs the services) with `PORT` set to a free port, ready once `healthPath` answers 200.
 * `cpuProf` adds `--cpu-prof` (the profile is written when the process exits after SIGTERM).
 */
export async function startNodeServer(
  script: string,
  env: Record<string, string>,
  options: { healthPath?: string; cpuProf?: boolean; timeoutMs?: number } = {},
): Promise<NodeServer> {
  const port = await freePort();
  const profDir = options.cpuProf ? mkdtempSync(join(os.tmpdir(), 'authstack-prof-')) : undefined;
  const child: ChildProcess = spawn(
    process.execPath,
    [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), join(ROOT, script)],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        ...env,
        PORT: String(port),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited: ${stderr.trim()}`);
    const ok = await fetch(`${url}${options.healthPath ?? '/healthz'}`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} did not become healthy: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid!,
    url,
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
      if (!profDir) return undefined;
      const file = readdirSync(profDir).find((name) => name.endsWith('.cpuprofile'));
      return file ? join(profDir, file) : undefined;
    },
  };
}

export function removeProfile(path: string | undefined): void {
  if (path) rmSync(join(path, '..'), { recursive: true, force: true });
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** The nginx this process started (its master, a direct child, and the master's workers). */
export function nginxPids(): number[] {
  const master = childPids(process.pid).find((pid) => comm(pid) === 'nginx');
  return master ? [master, ...childPids(master)] : [];
}
