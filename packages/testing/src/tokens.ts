/**
 * Test keys, tokens and a JWKS server under the test's control: for the attacks a verifier must refuse
 * and for counting how often a verifier fetches keys.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject, randomUUID, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import type { Scope } from './fixture.ts';

export interface TestKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JsonWebKey;
}

export function testKey(alg: 'RS256' | 'ES256' = 'RS256', kid = `test-${randomUUID()}`): TestKey {
  const { privateKey, publicKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid,
    alg,
    privateKey,
    publicKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  };
}

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'authstack-api';

export interface MintOptions {
  claims?: Record<string, unknown>;
  /** Claims to delete from the defaults. */
  omit?: string[];
  header?: Record<string, unknown>;
  nowSec?: number;
  ttlSec?: number;
}

/** A well-formed RFC 9068 access token signed by `key`, with overrides for the attack at hand. */
export function mint(key: TestKey, options: MintOptions = {}): string {
  const iat = options.nowSec ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: randomUUID(),
    client_id: 'test',
    username: 'alice',
    roles: ['user'],
    sid: randomUUID(),
    jti: randomUUID(),
    iat,
    exp: iat + (options.ttlSec ?? 300),
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete payload[name];
  return jwt.sign(payload, key.privateKey, {
    algorithm: key.alg,
    header: { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...options.header } as jwt.JwtHeader,
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token assembled by hand: any header, any payload, any signature. */
export function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signature = '',
): string {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

/** Sign any header and payload with `key`, bypassing every check a JWT library makes when signing. */
export function signRaw(
  key: TestKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: key.privateKey,
    ...(key.alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
  });
  return `${input}.${signature.toString('base64url')}`;
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8'));
}

export interface JwksServer {
  url: string;
  jwksUri: string;
  /** Requests seen, by path. */
  hits: Map<string, number>;
  total(): number;
  setKeys(keys: JsonWebKey[]): void;
  close(): Promise<void>;
}

/** Serves `/jwks.json` (and `/.well-known/openid-configuration`) and counts every request. */
export async function jwksServer(
  keys: JsonWebKey[],
  options: { maxAgeSec?: number; scope?: Scope } = {},
): Promise<JwksServer> {
  let current = keys;
  const hits = new Map<string, number>();
  let url = '';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const headers = {
      'content-type': 'application/json',
      'cache-control': `public, max-age=${options.maxAgeSec ?? 300}`,
    };
    if (path === '/jwks.json') {
      res.writeHead(200, headers).end(JSON.stringify({ keys: current }));
    } else if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, headers).end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks.json` }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  options.scope?.defer(() => new Promise((resolve) => server.close(resolve)));
  return {
    url,
    jwksUri: `${url}/jwks.json`,
    hits,
    total: () => [...hits.values()].reduce((sum, n) => sum + n, 0),
    setKeys: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
