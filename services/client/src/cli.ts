#!/usr/bin/env node
/**
 * authstack CLI: `node services/client/src/cli.ts <command>` (or `make scenarios`).
 * Tokens stay in memory unless --token-file is given; that file is written as a new file with mode 0600
 * and renamed into place, never through a symbolic link (token-file.ts). The base URL must be HTTPS; plain
 * HTTP only to a loopback address with --insecure-http-loopback. `--session cookie` logs in with a cookie session
 * instead: the file then keeps the session cookie, no token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { checkBaseUrl } from './base-url.ts';
import { formatTable, runScenarios } from './scenarios.ts';
import { ApiError, AuthClient, type Tokens } from './sdk.ts';
import { readTokenFile, writeTokenFile } from './token-file.ts';

const program = new Command()
  .name('authstack')
  .description('Client for the authstack reference deployment')
  .option('--base-url <url>', 'the gateway', process.env.BASE_URL ?? 'https://localhost:8443')
  .option(
    '--ca <file>',
    'CA certificate to trust (PEM)',
    process.env.CA_FILE ?? (existsSync('certs/ca.crt') ? 'certs/ca.crt' : undefined),
  )
  .option(
    '--token-file <file>',
    'keep tokens (or, with --session cookie, the session cookie) between commands in this file (mode 0600)',
    process.env.TOKEN_FILE,
  )
  .option(
    '--insecure-http-loopback',
    'allow a plain http:// base URL to a loopback address (passwords and tokens unencrypted on this machine)',
    false,
  )
  .addOption(
    new Option('--session <mode>', 'bearer tokens, or a cookie session (a cookie jar)')
      .choices(['bearer', 'cookie'])
      .default(process.env.AUTHSTACK_SESSION ?? 'bearer'),
  );

interface Globals {
  baseUrl: string;
  ca?: string;
  tokenFile?: string;
  insecureHttpLoopback: boolean;
  session: 'bearer' | 'cookie';
}

function save(file: string | undefined, value: unknown): void {
  if (!file) return;
  writeTokenFile(file, JSON.stringify(value ?? null));
}

function client(): AuthClient {
  const opts = program.opts<Globals>();
  const saved = opts.tokenFile ? readTokenFile(opts.tokenFile) : undefined;
  const stored = saved ? (JSON.parse(saved) as (Tokens & { cookies?: never }) | null) : undefined;
  const base = {
    baseUrl: opts.baseUrl,
    insecureHttpLoopback: opts.insecureHttpLoopback,
    ...(opts.ca ? { ca: readFileSync(opts.ca) } : {}),
  };
  if (opts.session === 'cookie') {
    const cookies = (stored as { cookies?: Record<string, string> } | null | undefined)?.cookies;
    return new AuthClient({
      ...base,
      mode: 'cookie',
      ...(cookies ? { cookies } : {}),
      onCookies: (jar) => save(opts.tokenFile, { cookies: jar }),
    });
  }
  return new AuthClient({
    ...base,
    ...(stored ? { tokens: stored } : {}),
    onTokens: (tokens) => save(opts.tokenFile, tokens),
  });
}

async function password(fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  const fromEnv = process.env.AUTHSTACK_PASSWORD;
  if (!fromEnv) throw new Error('give the password with --password-stdin or the AUTHSTACK_PASSWORD variable');
  return fromEnv;
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

program
  .command('register <username>')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (username: string, opts: { passwordStdin?: boolean }) => {
    print(await client().register(username, await password(opts.passwordStdin)));
  });

program
  .command('login <username>')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (username: string, opts: { passwordStdin?: boolean }) => {
    const result = await client().login(username, await password(opts.passwordStdin));
    print({
      message: result.message,
      user: result.user,
      session: program.opts<Globals>().session,
      tokens_saved: Boolean(program.opts<Globals>().tokenFile),
    });
  });

program.command('whoami').action(async () => print(await client().me()));
program.command('protected').action(async () => print(await client().request('GET', '/api/protected')));
program.command('admin').action(async () => print(await client().request('GET', '/api/admin')));
program.command('sessions').action(async () => print(await client().sessions()));
program.command('logout').action(async () => {
  await client().logout();
  print({ status: 'logged out' });
});

program
  .command('scenarios')
  .description('run the end-to-end scenarios through the gateway and print a table; exit 1 on any failure')
  .option(
    '--session-mode',
    'the resource service runs VERIFY_MODE=session',
    process.env.VERIFY_MODE === 'session',
  )
  .action(async (opts: { sessionMode?: boolean }) => {
    const globals = program.opts<Globals>();
    const adminUsername = process.env.ADMIN_USERNAME ?? process.env.BOOTSTRAP_ADMIN_USERNAME;
    const passwordFile = process.env.ADMIN_PASSWORD_FILE ?? process.env.BOOTSTRAP_ADMIN_PASSWORD_FILE;
    const adminPassword =
      process.env.ADMIN_PASSWORD ??
      process.env.BOOTSTRAP_ADMIN_PASSWORD ??
      (passwordFile ? readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '') : undefined);
    checkBaseUrl(globals.baseUrl, globals.insecureHttpLoopback);
    const results = await runScenarios({
      baseUrl: globals.baseUrl,
      insecureHttpLoopback: globals.insecureHttpLoopback,
      ...(globals.ca ? { ca: readFileSync(globals.ca) } : {}),
      admin:
        adminUsername && adminPassword ? { username: adminUsername, password: adminPassword } : undefined,
      sessionMode: Boolean(opts.sessionMode),
    });
    console.log(formatTable(results));
    if (results.some((r) => !r.pass)) process.exitCode = 1;
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error(error instanceof ApiError ? `error: ${error.message}` : `error: ${(error as Error).message}`);
  process.exitCode = 1;
}
