/**
 * The local CA made by `make certs` carries critical X.509 name constraints, so trusting it
 * (even system-wide) trusts it only for localhost, the gateway's name, 127.0.0.1 and ::1. Checked with openssl
 * itself: a leaf for any other name signed by this CA's own key fails verification.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { suiteScope, useTempDir } from '@authstack/testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('local CA name constraints', () => {
  const dir = useTempDir(suiteScope(), 'authstack-ca');
  execFileSync('bash', [join(ROOT, 'infra/certs/make-certs.sh')], {
    env: { ...process.env, CERTS_DIR: dir, GATEWAY_HOSTNAME: 'gateway' },
    stdio: 'ignore',
  });
  const ca = join(dir, 'ca.crt');

  const openssl = (args: string[]) => spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });

  /** A leaf with these SANs, signed by the local CA's own key. */
  function leaf(name: string, san: string, cn = 'leaf'): string {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const ext = join(dir, `${name}.ext`);
    const crt = join(dir, `${name}.crt`);
    writeFileSync(
      ext,
      `basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
    );
    for (const args of [
      ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key],
      ['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-out', csr],
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca,
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        ext,
        '-out',
        crt,
      ],
    ]) {
      const result = openssl(args);
      assert.equal(result.status, 0, result.stderr);
    }
    return crt;
  }

  const verify = (crt: string) => openssl(['verify', '-CAfile', ca, crt]);

  it('when the CA is made, then it carries critical name constraints for exactly the gateway names', () => {
    const text = openssl(['x509', '-in', ca, '-noout', '-ext', 'nameConstraints']).stdout;
    assert.match(text, /Name Constraints: critical/);
    for (const name of [
      'DNS:localhost',
      'DNS:gateway',
      'IP:127.0.0.1/255.255.255.255',
      'IP:0:0:0:0:0:0:0:1/',
    ]) {
      assert.ok(text.includes(name), `${name} in\n${text}`);
    }
    assert.equal(text.match(/^\s+(DNS|IP|email|URI|DirName):/gm)?.length, 4, text);
  });

  it("when the gateway's own certificate is verified, then it passes", () => {
    const result = verify(join(dir, 'server.crt'));
    assert.equal(result.status, 0, result.stderr);
  });

  it('when the CA key signs a leaf for another DNS name, then openssl refuses it', () => {
    const result = verify(leaf('evil-dns', 'DNS:bank.example.com', 'bank.example.com'));
    assert.notEqual(result.status, 0);
    assert.match(result.stdout + result.stderr, /permitted subtree violation/);
  });

  it('when the CA key signs a leaf for another IP address, then openssl refuses it', () => {
    const result = verify(leaf('evil-ip', 'IP:10.0.0.1'));
    assert.notEqual(result.status, 0);
    assert.match(result.stdout + result.stderr, /permitted subtree violation/);
  });

  it('when the CA key signs a leaf for a permitted name, then it verifies', () => {
    const result = verify(leaf('ok', 'DNS:localhost,IP:::1', 'localhost'));
    assert.equal(result.status, 0, result.stderr);
  });
});
