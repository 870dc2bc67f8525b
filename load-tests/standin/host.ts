/**
 * The k6 stand-in, parent side. k6 cannot be installed where the test suite runs, so this runs a k6 script
 * under Node instead: `runK6Script()` starts a worker thread (runner.ts) whose `k6`, `k6/http`, `k6/execution`,
 * `k6/data` and `k6/metrics` imports resolve to small stand-ins, with `__ENV` and `open()` as globals. k6's
 * HTTP calls are synchronous, so the worker blocks (Atomics.wait) while this thread makes each request over
 * real HTTP(S), verifying TLS against SSL_CERT_FILE as k6 does, and hands the reply back. It is a stand-in for
 * the API the scripts use, not k6: no executors, no VU scheduling, no thresholds evaluated.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { HttpReply, HttpRequest } from './runtime.ts';

export interface StandinResult {
  scenarios: string[];
  checks: Record<string, { passes: number; fails: number }>;
  metrics: Record<string, { type: string; values: Record<string, number> }>;
  requests: { method: string; url: string; status: number; name: string; expected: boolean }[];
  files: string[];
  stdout: string;
}

function send(req: HttpRequest, ca: Buffer | undefined): Promise<HttpReply> {
  const started = performance.now();
  const url = new URL(req.url);
  const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { 'user-agent': 'k6-standin', ...req.headers };
  if (req.body !== null) headers['content-length'] = String(Buffer.byteLength(req.body));
  return new Promise((resolve) => {
    const done = (reply: Omit<HttpReply, 'durationMs'>) =>
      resolve({ ...reply, durationMs: performance.now() - started });
    const outgoing = make(url, {
      method: req.method,
      headers,
      timeout: req.timeoutMs,
      ...(ca ? { ca } : {}),
    });
    outgoing.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers))
          if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(', ') : value;
        done({
          status: res.statusCode ?? 0,
          headers: flat,
          body: Buffer.concat(chunks).toString('utf8'),
          error: '',
        });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('request timeout')));
    outgoing.on('error', (error) => done({ status: 0, headers: {}, body: '', error: error.message }));
    outgoing.end(req.body ?? undefined);
  });
}

/** Run `script` (a path) with `env` as its __ENV. TLS is verified against env.SSL_CERT_FILE when set. */
export async function runK6Script(script: string, env: Record<string, string>): Promise<StandinResult> {
  return run(script, env, false) as Promise<StandinResult>;
}

/** Only import `script` (its init code) under `env` and return its exported `options`, as k6 would read them. */
export async function k6Options(
  script: string,
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  return ((await run(script, env, true)) as { options: Record<string, unknown> }).options;
}

async function run(script: string, env: Record<string, string>, optionsOnly: boolean): Promise<unknown> {
  const ca = env.SSL_CERT_FILE ? readFileSync(env.SSL_CERT_FILE) : undefined;
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  port1.on('message', async (req: HttpRequest) => {
    const reply = await send(req, ca);
    port1.postMessage(reply);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
  const worker = new Worker(new URL('./runner.ts', import.meta.url), {
    workerData: { script, env, port: port2, signal, optionsOnly },
    transferList: [port2],
    execArgv: [],
  });
  try {
    return await new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`k6 stand-in exited (${code}) before reporting`)));
    });
  } finally {
    port1.close();
    await worker.terminate();
  }
}
