/**
 * Verifier peers, side by side: the same express app (`peer-server.ts`), one process per peer, the same tokens
 * from many users, the same JWKS served by a real auth service, wrk as the load. Before any load, every peer
 * gets the same forged tokens and must refuse each one (the correctness column), so no row wins by checking less.
 */
import { createHmac, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RunningAuth } from '@authstack/auth/server';
import type { BenchOptions } from './options.ts';
import { PEERS, type Peer } from './peer-server.ts';
import { type NodeServer, ROOT, removeProfile, startNodeServer } from './procs.ts';
import { type ProfileSummary, summariseProfile } from './profile.ts';
import { benchEnv, login, registerUsers, startAuthInProcess } from './stack.ts';
import { measureRounds, rssMiB } from './wrk.ts';

export const ATTACKS = [
  'alg none',
  'HS256 with the public key',
  'edited payload',
  'expired',
  'wrong aud',
  'wrong iss',
  'wrong typ',
  'crit header',
] as const;
export type Attack = (typeof ATTACKS)[number];
/** refused: 401; ACCEPTED: a forged token got through; cannot: the library has no way to check this. */
export type Verdict = 'refused' | 'ACCEPTED' | 'cannot check';

export const PEER_LABELS: Record<Peer, string> = {
  limit: 'bare express, no verification (the limit)',
  'verifier-cache': '@authstack/verifier, token cache on',
  'verifier-no-cache': '@authstack/verifier, token cache off',
  jose: 'jose createRemoteJWKSet + jwtVerify',
  'express-oauth2-jwt-bearer': 'express-oauth2-jwt-bearer',
  'passport-jwt': 'passport-jwt + jwks-rsa',
};

/**
 * What a library cannot be configured to check (said in the table, not counted against it): passport-jwt hands the
 * token to jsonwebtoken, which has no setting for `typ` and ignores `crit`.
 */
export const CANNOT: Partial<Record<Peer, Attack[]>> = { 'passport-jwt': ['wrong typ', 'crit header'] };

const PACKAGES: Record<Peer, string[]> = {
  limit: ['express'],
  // The verifier checks signatures with node:crypto alone; the cache is lru-cache.
  'verifier-cache': ['lru-cache'],
  'verifier-no-cache': [],
  jose: ['jose'],
  'express-oauth2-jwt-bearer': ['express-oauth2-jwt-bearer'],
  'passport-jwt': ['passport-jwt', 'jwks-rsa', 'passport'],
};

export interface PeerRow {
  peer: Peer;
  label: string;
  versions: string;
  connections: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  ratio: number;
  non2xx: number;
  errors: number;
  generatorCpu: number;
  serverCpu: number;
  rssRestMiB: number;
  rssLoadMiB: number;
  /** Cores busy machine-wide during the rounds (anything above generator + server is someone else's). */
  machineBusy: number;
  rpsByRound: number[];
  correctness: Record<Attack, Verdict>;
  validAccepted: boolean;
}

export interface PeersResult {
  users: number;
  connections: number;
  rows: PeerRow[];
  profiles: Record<string, ProfileSummary>;
}

function version(pkg: string): string {
  try {
    return JSON.parse(readFileSync(`${ROOT}node_modules/${pkg}/package.json`, 'utf8')).version as string;
  } catch {
    return '?';
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** The forged tokens, made from a real token and the real signing key (for the ones only a key could make). */
export function forgeries(
  real: string,
  key: { kid: string; privateKey: KeyObject },
  publicPem: string,
): Record<Attack, string> {
  const [h, p] = real.split('.');
  const header = decode(h!);
  const payload = decode(p!);
  const now = Math.floor(Date.now() / 1000);
  const signed = (hdr: Record<string, unknown>, body: Record<string, unknown>) => {
    const input = `${b64(hdr)}.${b64(body)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
  };
  const hsInput = `${b64({ ...header, alg: 'HS256' })}.${b64(payload)}`;
  return {
    'alg none': `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`,
    'HS256 with the public key': `${hsInput}.${createHmac('sha256', publicPem).update(hsInput).digest('base64url')}`,
    'edited payload': `${h}.${b64({ ...payload, roles: ['admin'], username: 'mallory' })}.${real.split('.')[2]}`,
    expired: signed(header, { ...payload, iat: now - 7200, exp: now - 3600 }),
    'wrong aud': signed(header, { ...payload, aud: 'someone-else' }),
    'wrong iss': signed(header, { ...payload, iss: 'https://attacker.example' }),
    'wrong typ': signed({ ...header, typ: 'JWT' }, payload),
    // An extension the verifier must understand to accept the token (RFC 7515 section 4.1.11); none understands it.
    'crit header': signed({ ...header, crit: ['urn:example:must-understand'] }, payload),
  };
}

async function status(url: string, token: string): Promise<number> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

/** Each forged token sent once to a running peer (its protected `url`): the peer's correctness row. */
export async function correctnessOf(
  peer: Peer,
  url: string,
  forged: Record<Attack, string>,
): Promise<Record<Attack, Verdict>> {
  const correctness = {} as Record<Attack, Verdict>;
  for (const attack of ATTACKS) {
    if (peer === 'limit') {
      correctness[attack] = 'cannot check';
      continue;
    }
    const code = await status(url, forged[attack]);
    correctness[attack] =
      code === 401 ? 'refused' : CANNOT[peer]?.includes(attack) ? 'cannot check' : 'ACCEPTED';
  }
  return correctness;
}

/** Whether a running peer accepts a valid token. */
export async function acceptsValid(url: string, token: string): Promise<boolean> {
  return (await status(url, token)) === 200;
}

/** The peer servers' settings: the auth service's issuer and audience, and its JWKS. */
export function peerEnv(auth: RunningAuth): Record<string, string> {
  return {
    BENCH_ISSUER: auth.service.config.issuer,
    BENCH_AUDIENCE: auth.service.config.audience,
    BENCH_JWKS_URI: `${auth.url}/.well-known/jwks.json`,
  };
}

/** The forged tokens for a running auth service: from one of its real tokens and its real signing key. */
export async function forgeriesFor(auth: RunningAuth, real: string): Promise<Record<Attack, string>> {
  const signing = auth.service.keyring.signingKey();
  const jwks = (await (await fetch(`${auth.url}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };
  const jwk = jwks.keys.find((k) => k.kid === signing.kid)!;
  const publicPem = createPublicKey({ key: jwk as never, format: 'jwk' })
    .export({ format: 'pem', type: 'spki' })
    .toString();
  return forgeries(real, signing, publicPem);
}

export async function runPeers(options: BenchOptions): Promise<PeersResult> {
  const env = await benchEnv();
  const auth = await startAuthInProcess(env, 4);
  const profiles: Record<string, ProfileSummary> = {};
  try {
    const users = await registerUsers(auth.url, options.users);
    const tokens: string[] = [];
    for (const user of users) tokens.push((await login(auth.url, user)).access_token);
    const forged = await forgeriesFor(auth, tokens[0]!);
    const connections = 32;
    const rows: PeerRow[] = [];
    for (const peer of PEERS) {
      const server = await startNodeServer('bench/peer-server.ts', { ...peerEnv(auth), BENCH_PEER: peer });
      let stopped = false;
      try {
        const url = `${server.url}/api/protected`;
        const validAccepted = await acceptsValid(url, tokens[1 % tokens.length]!);
        const correctness = await correctnessOf(peer, url, forged);
        const rssRestMiB = rssMiB(server.pid);
        const result = await measureRounds(
          { url, connections, seconds: options.seconds, tokens, watch: [server.pid] },
          options.rounds,
        );
        rows.push({
          peer,
          label: PEER_LABELS[peer],
          versions: PACKAGES[peer].map((pkg) => `${pkg} ${version(pkg)}`).join(', ') || 'node:crypto only',
          connections,
          rps: result.rps,
          p50: result.p50,
          p90: result.p90,
          p99: result.p99,
          ratio: 0,
          non2xx: result.non2xx,
          errors: result.errors,
          generatorCpu: result.generatorCpu,
          serverCpu: result.serverCpu,
          rssRestMiB,
          rssLoadMiB: result.serverRssMiB,
          machineBusy: result.machineBusy,
          rpsByRound: result.rpsByRound,
          correctness,
          validAccepted,
        });
        console.log(
          `bench: peers: ${PEER_LABELS[peer].padEnd(44)} ${String(result.rps).padStart(8)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  wrk cpu ${result.generatorCpu}  server cpu ${result.serverCpu}`,
        );
        await server.stop();
        stopped = true;
      } finally {
        if (!stopped) await server.stop();
      }
    }
    const limit = rows.find((r) => r.peer === 'limit')!.rps;
    for (const row of rows) row.ratio = Math.round((row.rps / limit) * 1000) / 1000;

    // Where the time goes, for every row under the goal (ours with the cache >= every peer and >= 0.90 of the
    // limit) and for ours without the cache: one more round of the same load under --cpu-prof.
    const ours = rows.find((r) => r.peer === 'verifier-cache')!;
    const missed = ours.ratio < 0.9 || rows.some((r) => r.peer !== 'limit' && r.rps > ours.rps);
    if (options.profile) {
      const targets: Peer[] = missed
        ? ['limit', 'verifier-cache', 'verifier-no-cache']
        : ['verifier-no-cache'];
      for (const peer of targets) {
        const server: NodeServer = await startNodeServer(
          'bench/peer-server.ts',
          { ...peerEnv(auth), BENCH_PEER: peer },
          { cpuProf: true },
        );
        let path: string | undefined;
        try {
          await measureRounds(
            { url: `${server.url}/api/protected`, connections, seconds: options.seconds, tokens },
            1,
          );
        } finally {
          path = await server.stop();
        }
        if (path) {
          profiles[peer] = summariseProfile(path);
          removeProfile(path);
        }
      }
    }
    return { users: users.length, connections, rows, profiles };
  } finally {
    await auth.stop();
    await env.clear();
  }
}
