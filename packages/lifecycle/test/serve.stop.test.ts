import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { listen, serve } from '../src/index.ts';

const logger = { info() {} };

/** A service whose `GET /hold` answers only when released, and which counts what stop() does to it. */
function heldService() {
  const arrived = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const calls: string[] = [];
  const app = express();
  app.get('/hold', async (_req, res) => {
    arrived.resolve();
    await release.promise;
    res.json({ calls });
  });
  app.get('/ping', (_req, res) => {
    res.json({ ok: true });
  });
  return {
    arrived: arrived.promise,
    release: () => release.resolve(),
    calls,
    service: {
      app,
      logger,
      markShuttingDown: () => calls.push('markShuttingDown'),
      close: async () => {
        calls.push('close');
      },
    },
  };
}

// A deadline far beyond the test's own timeout: a stop() that waits for it fails the test.
const config = { port: 0, host: '127.0.0.1', shutdownTimeout: 600 };

describe('serve() and stop()', () => {
  it('when serve() starts a service, then it listens on the given host and a free port', async () => {
    const held = heldService();
    const running = await serve(async () => held.service)(config);
    try {
      assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(await (await fetch(`${running.url}/ping`)).json(), { ok: true });
      assert.equal(running.service, held.service);
    } finally {
      await running.stop();
    }
  });

  it('when stop() is called with a request in flight, then readiness fails first, the request completes, then resources close', {
    timeout: 30_000,
  }, async () => {
    const held = heldService();
    const running = await serve(async () => held.service)(config);
    const inFlight = fetch(`${running.url}/hold`);
    await held.arrived;
    const stopped = running.stop();
    assert.deepEqual(held.calls, ['markShuttingDown'], 'readiness fails at once, resources stay open');
    held.release();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { calls: ['markShuttingDown'] });
    await stopped;
    assert.deepEqual(held.calls, ['markShuttingDown', 'close']);
  });

  it('when a request is in flight on a keep-alive connection at stop(), then its response closes the connection and stop() does not wait for the deadline', {
    timeout: 30_000,
  }, async () => {
    const held = heldService();
    const running = await serve(async () => held.service)(config);
    const inFlight = fetch(`${running.url}/hold`, { headers: { connection: 'keep-alive' } });
    await held.arrived;
    const stopped = running.stop();
    held.release();
    const res = await inFlight;
    assert.equal(res.headers.get('connection'), 'close');
    await res.arrayBuffer();
    await stopped;
    assert.deepEqual(held.calls, ['markShuttingDown', 'close']);
  });

  it('when stop() is called twice, then the service is stopped once', async () => {
    const held = heldService();
    const running = await serve(async () => held.service)(config);
    await Promise.all([running.stop(), running.stop()]);
    await running.stop();
    assert.deepEqual(held.calls, ['markShuttingDown', 'close']);
    await assert.rejects(fetch(`${running.url}/ping`), TypeError, 'no longer listening');
  });

  it('when a request outlasts the shutdown deadline, then its connection is cut and stop() still completes', async () => {
    const held = heldService();
    const running = await serve(async () => held.service)({ ...config, shutdownTimeout: 0 });
    const inFlight = fetch(`${running.url}/hold`);
    await held.arrived;
    await running.stop();
    await assert.rejects(inFlight, TypeError, 'the connection was cut');
    assert.deepEqual(held.calls, ['markShuttingDown', 'close']);
    held.release();
  });

  it('when the port is taken, then listen() rejects with EADDRINUSE', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const { port } = taken.address() as AddressInfo;
      await assert.rejects(
        listen(heldService().service.app, heldService().service, {
          port,
          host: '127.0.0.1',
          shutdownTimeoutSec: 1,
        }),
        { code: 'EADDRINUSE' },
      );
    } finally {
      taken.close();
    }
  });
});
