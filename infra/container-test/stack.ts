/**
 * What the container stage's test files share: the stack they run against (project name and published port from
 * the environment the stage script sets), `docker` and `docker compose`, and requests through the gateway.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PROJECT = process.env.COMPOSE_PROJECT_NAME ?? 'authstack';
const HTTPS_PORT = Number(process.env.GATEWAY_HTTPS_PORT ?? 8443);
export const BASE = `https://localhost:${HTTPS_PORT}`;
const run = promisify(execFile);
export const dispatcher = new Agent({ connect: { ca: readFileSync(join(ROOT, 'certs/ca.crt')) } });

/** `docker compose ...` in the repository, with this project's name (and COMPOSE_FILE's files, when set). */
export async function compose(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', ['compose', ...args], {
    cwd: ROOT,
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}
export const docker = async (...args: string[]) =>
  (await run('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;

/** A container's log since a time (RFC 3339), both streams: PostgreSQL and nginx write theirs to stderr. */
export async function logsSince(container: string, since: string): Promise<string> {
  const { stdout, stderr } = await run('docker', ['logs', '--since', since, container], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return `${stdout}${stderr}`;
}

/** The running containers of one service, by name. */
export async function containers(service: string): Promise<string[]> {
  const out = await docker(
    'ps',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  );
  return out.split('\n').filter(Boolean);
}

/** Runs a small script with the node of a service's container (the services' images have no curl). */
export async function nodeIn(container: string, script: string): Promise<string> {
  return docker('exec', container, 'node', '-e', script);
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}
export async function api(method: string, path: string, body?: unknown, token?: string): Promise<Reply> {
  const res = await request(`${BASE}${path}`, {
    method: method as 'GET',
    dispatcher,
    // a request that hangs (a dependency failing over) counts as a failure, not as a stuck drill
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text.startsWith('{') ? JSON.parse(text) : { text } };
}

/** Polls until `check` passes (returns true) or the deadline: containers change state on their own time. */
export async function eventually(what: string, check: () => Promise<boolean>, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) assert.fail(`not within ${seconds} s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
