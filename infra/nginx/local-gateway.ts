/** The real nginx with the project's templates, on free loopback ports, with a throwaway CA. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderGateway } from './render.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The study console's static files (served at /console/). */
export const CONSOLE_ROOT = join(ROOT, 'services/console/public');

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A CA and server certificate made by the project's own script. */
export function makeCerts(): { dir: string; ca: string; cert: string; key: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'authstack-certs-'));
  execFileSync('bash', [join(ROOT, 'infra/certs/make-certs.sh')], {
    env: { ...process.env, CERTS_DIR: dir },
    stdio: 'ignore',
  });
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Gateway {
  httpsPort: number;
  httpPort: number;
  httpsUrl: string;
  httpUrl: string;
  /** nginx's access log: one JSON line per request (log_format gateway_json). */
  accessLog: string;
  /** The status log (log_format gateway_status): written only when started with `statusLog: true`. */
  statusLog: string;
  stop(): Promise<void>;
}

export async function startGateway(options: {
  authUpstream: string;
  resourceUpstream: string;
  /** The session-mode resource behind /api-session/; default: the same as `resourceUpstream`. */
  resourceSessionUpstream?: string;
  /** The console's static files; default: the repository's services/console/public. */
  consoleRoot?: string;
  certs: { cert: string; key: string };
  loginRate?: string;
  loginBurst?: string;
  registerRate?: string;
  registerBurst?: string;
  connLimit?: string;
  /** GATEWAY_STATUS_LOG=on: the compact status log the observability profile counts (default off). */
  statusLog?: boolean;
  /** GATEWAY_TRUST_TRACEPARENT=on: a client's well-formed traceparent (and tracestate) is passed on (default off). */
  trustTraceparent?: boolean;
  /** GATEWAY_COOKIE_EXCHANGE_CACHE: seconds the gateway reuses auth's answer to a cookie exchange (default 1; 0: off). */
  cookieExchangeCache?: number;
  /**
   * Tests only: nginx takes the client address from this request header when the connection comes from 127.0.0.1
   * (the realip module), so a test can stand in for clients the loopback cannot be (other IPv4 and IPv6 addresses).
   * The gateway's own configuration never trusts a client-sent header.
   */
  clientAddressHeader?: string;
}): Promise<Gateway> {
  // A free port can be taken by another process between freePort() and nginx's bind (tests start gateways in
  // parallel): nginx then exits with "Address already in use", and the start is tried again on new ports.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnFreePorts(options);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

class PortTaken extends Error {}

async function startOnFreePorts(options: Parameters<typeof startGateway>[0]): Promise<Gateway> {
  const [httpsPort, httpPort, healthPort] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'authstack-nginx-'));
  // Started as root (CI, containers), nginx runs its workers as another user: they must be able to pass through
  // this folder to the folders nginx makes for them in it (the cookie exchange cache, temp files). Not listable.
  chmodSync(dir, 0o711);
  const conf = renderGateway(dir, {
    GATEWAY_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
    GATEWAY_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    GATEWAY_HEALTH_LISTEN: `127.0.0.1:${healthPort}`,
    GATEWAY_PUBLIC_HOST: 'localhost',
    GATEWAY_PUBLIC_HTTPS_PORT: String(httpsPort),
    AUTH_UPSTREAM: options.authUpstream,
    RESOURCE_UPSTREAM: options.resourceUpstream,
    RESOURCE_SESSION_UPSTREAM: options.resourceSessionUpstream ?? options.resourceUpstream,
    CONSOLE_ROOT: options.consoleRoot ?? CONSOLE_ROOT,
    TLS_CERTIFICATE: options.certs.cert,
    TLS_CERTIFICATE_KEY: options.certs.key,
    LOGIN_RATE: options.loginRate ?? '50r/s',
    LOGIN_BURST: options.loginBurst ?? '100',
    REGISTER_RATE: options.registerRate ?? '50r/s',
    REGISTER_BURST: options.registerBurst ?? '100',
    CONN_LIMIT: options.connLimit ?? '50',
    GATEWAY_STATUS_LOG: options.statusLog ? 'on' : 'off',
    GATEWAY_TRUST_TRACEPARENT: options.trustTraceparent ? 'on' : 'off',
    GATEWAY_COOKIE_EXCHANGE_CACHE: String(options.cookieExchangeCache ?? 1),
  });
  if (options.clientAddressHeader) {
    const main = readFileSync(conf, 'utf8');
    const realip = `http {\n    set_real_ip_from 127.0.0.1;\n    real_ip_header ${options.clientAddressHeader};\n`;
    writeFileSync(conf, main.replace(/^http \{\n/m, realip));
  }
  const nginx: ChildProcess = spawn('nginx', ['-c', conf, '-p', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  // A binary that cannot be started (no nginx on PATH) emits 'error' and never 'exit'.
  let failedToStart: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    nginx.once('exit', () => resolve());
    nginx.once('error', (error) => {
      failedToStart = error;
      resolve();
    });
  });
  try {
    for (const deadline = Date.now() + 10_000; ; ) {
      if (failedToStart)
        throw new Error(
          `nginx could not be started (is it installed and on PATH?): ${failedToStart.message}`,
        );
      if (nginx.exitCode !== null) {
        if (/Address already in use/.test(stderr)) throw new PortTaken(stderr);
        throw new Error(`nginx exited: ${stderr}`);
      }
      // Never follow a redirect: a 301 would come from another gateway holding this port.
      const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`, { redirect: 'manual' }).catch(
        () => undefined,
      );
      if (res?.status === 200 && nginx.exitCode === null) break;
      if (Date.now() > deadline)
        throw new Error(`nginx did not answer on its health port within 10 s: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    nginx.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    httpsPort,
    httpPort,
    httpsUrl: `https://localhost:${httpsPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    accessLog: join(dir, 'access.log'),
    statusLog: join(dir, 'status.log'),
    async stop() {
      if (nginx.exitCode === null) nginx.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
