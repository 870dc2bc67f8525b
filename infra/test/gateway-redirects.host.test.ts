/**
 * The gateway's redirects never take their host from the request: the HTTP → HTTPS redirect names the configured
 * public host (GATEWAY_PUBLIC_HOST), and the HTTPS server's own redirects (/console, a folder without its slash) are
 * relative. A `Host: evil.example` must not become a `Location` at evil.example. The real nginx, the real templates.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { before, describe, it } from 'node:test';
import { suiteScope } from '@authstack/testing';
import { startTestGateway, testCerts } from '../../e2e/support.ts';
import type { Gateway } from '../nginx/local-gateway.ts';

const EVIL = 'evil.example';

describe('gateway redirects use the configured public host, never the Host header', () => {
  const scope = suiteScope();
  let gateway: Gateway;
  let ca: Buffer;

  /** A GET with the given Host header; the status and the Location nginx answers. */
  const get = (url: string, host: string): Promise<{ status: number; location: string | undefined }> =>
    new Promise((resolve, reject) => {
      const tls = url.startsWith('https:');
      const options = {
        headers: { host },
        ...(tls ? { ca, agent: new Agent({ ca }), servername: 'localhost' } : {}),
      };
      const req = (tls ? httpsRequest : httpRequest)(url, options, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
      });
      req.on('error', reject);
      req.end();
    });

  before(async () => {
    const certs = testCerts(scope);
    ca = readFileSync(certs.ca);
    // Nothing behind the gateway is asked: the redirects are nginx's own.
    gateway = await startTestGateway(scope, {
      authUpstream: '127.0.0.1:9',
      resourceUpstream: '127.0.0.1:9',
      certs,
    });
  });

  it('when a plain-HTTP page is asked with Host: evil.example, then it is redirected to the configured host', async () => {
    const res = await get(`${gateway.httpUrl}/console/?x=1`, EVIL);
    assert.equal(res.status, 301);
    assert.equal(res.location, `https://localhost:${gateway.httpsPort}/console/?x=1`);
  });

  it('when /console is asked over HTTPS with Host: evil.example, then the redirect stays on this origin', async () => {
    const res = await get(`${gateway.httpsUrl}/console`, EVIL);
    assert.equal(res.status, 301);
    assert.equal(res.location, '/console/');
  });

  it('when a console folder is asked without its slash with Host: evil.example, then the redirect stays on this origin', async () => {
    const res = await get(`${gateway.httpsUrl}/console/js`, EVIL);
    assert.equal(res.status, 301);
    assert.equal(res.location, '/console/js/');
  });
});
