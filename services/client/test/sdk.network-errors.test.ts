/**
 * The SDK names why a request got no HTTP answer (fetch alone says "fetch failed"): a refused connection, an
 * untrusted certificate (with the --ca hint), a timeout, a name that does not resolve.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeCerts } from '../../../infra/nginx/local-gateway.ts';
import { AuthClient, NetworkError } from '../src/sdk.ts';

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
};

describe('SDK: requests that get no answer', () => {
  let certs: ReturnType<typeof makeCerts>;
  let tls: Server;
  let silent: Server;
  const sockets = new Set<Socket>();
  let tlsPort: number;
  let silentPort: number;

  before(async () => {
    certs = makeCerts();
    tls = createHttpsServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, (_req, res) =>
      res.end('{}'),
    );
    tlsPort = await listen(tls);
    // Accepts connections and never answers.
    silent = createServer((socket) => sockets.add(socket));
    silentPort = await listen(silent);
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all([tls, silent].map((s) => new Promise((resolve) => s.close(resolve))));
    certs.remove();
  });

  const failure = async (client: AuthClient) => {
    const error = await client.call('GET', '/auth/me').then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof NetworkError, String(error));
    return error;
  };

  it('when nothing listens, then kind refused, naming the host', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(new AuthClient({ baseUrl: `https://127.0.0.1:${port}` }));
    assert.deepEqual([error.kind, error.reason], ['refused', 'ECONNREFUSED']);
    assert.match(error.message, new RegExp(`^connection refused by 127\\.0\\.0\\.1:${port}`));
  });

  it('when the certificate is signed by a CA not given, then kind untrusted_certificate with the --ca hint; with the CA it answers', async () => {
    const error = await failure(new AuthClient({ baseUrl: `https://localhost:${tlsPort}` }));
    assert.equal(error.kind, 'untrusted_certificate');
    assert.match(error.message, /--ca <file>/);
    const trusted = new AuthClient({ baseUrl: `https://localhost:${tlsPort}`, ca: readFileSync(certs.ca) });
    assert.equal((await trusted.call('GET', '/')).status, 200);
  });

  it('when the server never answers, then kind timeout', async () => {
    const error = await failure(
      new AuthClient({ baseUrl: `https://127.0.0.1:${silentPort}`, timeoutMs: 300 }),
    );
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /no answer from 127\.0\.0\.1:\d+ within/);
  });

  it('when the name does not resolve, then kind unreachable', async () => {
    const error = await failure(new AuthClient({ baseUrl: 'https://no-such-host.invalid' }));
    assert.equal(error.kind, 'unreachable');
    assert.match(error.message, /the name does not resolve/);
  });
});
