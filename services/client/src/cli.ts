#!/usr/bin/env node
/**
 * authstack CLI: `node services/client/src/cli.ts <command>` (or `make scenarios`).
 * Tokens stay in memory unless --token-file is given; that file is written as a new file with mode 0600
 * and renamed into place, never through a symbolic link (token-file.ts). The base URL must be HTTPS; plain
 * HTTP only to a loopback address with --insecure-http-loopback. `--session cookie` logs in with a cookie session
 * instead: the file then keeps the session cookie, no token.
 * Every command prints a readable form, or one JSON document with --json; exit codes are in exit-codes.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { adminCommands } from './admin-commands.ts';
import { checkBaseUrl } from './base-url.ts';
import { describeFailure, EXIT, EXIT_HELP, UsageError } from './exit-codes.ts';
import { createOutput, table, writeJunit } from './output.ts';
import { formatTable, runScenarios } from './scenarios.ts';
import { AuthClient, type Tokens } from './sdk.ts';
import { readTokenFile, writeTokenFile } from './token-file.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('authstack')
  .description(
    'Client for the authstack reference deployment: the SDK on the command line, admin tasks, scenarios',
  )
  .version(version, '-V, --version', 'print the version and exit')
  .helpOption('-h, --help', 'show help for the command')
  .addHelpText('after', `\n${EXIT_HELP}`)
  // Usage errors are thrown (exit 2 below), not exited with commander's 1; help and --version still exit 0.
  .exitOverride()
  .option('--base-url <url>', 'the gateway (or BASE_URL)', process.env.BASE_URL ?? 'https://localhost:8443')
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
  .option('--json', 'print one JSON document per command (errors as {"error": ...} on standard error)', false)
  .option('--timeout <seconds>', 'give up on a request after this many seconds', '30')
  .option(
    '--as-admin',
    'log in first as ADMIN_USERNAME with ADMIN_PASSWORD or ADMIN_PASSWORD_FILE, and log out at the end',
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
  json: boolean;
  timeout: string;
  asAdmin: boolean;
  session: 'bearer' | 'cookie';
}

function save(file: string | undefined, value: unknown): void {
  if (!file) return;
  writeTokenFile(file, JSON.stringify(value ?? null));
}

const output = () => createOutput(program.opts<Globals>().json);

function timeoutMs(): number {
  const seconds = Number(program.opts<Globals>().timeout);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError('--timeout must be a positive number of seconds');
  return seconds * 1000;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read the CA file ${file} (--ca): ${(error as NodeJS.ErrnoException).code}`);
  }
}

/** ADMIN_USERNAME (or BOOTSTRAP_ADMIN_USERNAME) and its password from ADMIN_PASSWORD or ADMIN_PASSWORD_FILE. */
function adminCredentials(): { username: string; password: string } | undefined {
  const username = process.env.ADMIN_USERNAME ?? process.env.BOOTSTRAP_ADMIN_USERNAME;
  const passwordFile = process.env.ADMIN_PASSWORD_FILE ?? process.env.BOOTSTRAP_ADMIN_PASSWORD_FILE;
  const password =
    process.env.ADMIN_PASSWORD ??
    process.env.BOOTSTRAP_ADMIN_PASSWORD ??
    (passwordFile ? readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '') : undefined);
  return username && password ? { username, password } : undefined;
}

let adminSession: AuthClient | undefined;

/** The client admin commands act with: the token file's session, or (--as-admin) a login of its own. */
async function actingClient(): Promise<AuthClient> {
  if (!program.opts<Globals>().asAdmin) return client();
  const credentials = adminCredentials();
  if (!credentials) {
    throw new UsageError('--as-admin needs ADMIN_USERNAME and ADMIN_PASSWORD or ADMIN_PASSWORD_FILE');
  }
  const opts = program.opts<Globals>();
  adminSession = new AuthClient({
    baseUrl: opts.baseUrl,
    insecureHttpLoopback: opts.insecureHttpLoopback,
    timeoutMs: timeoutMs(),
    ...(opts.ca ? { ca: readCa(opts.ca) } : {}),
  });
  await adminSession.login(credentials.username, credentials.password);
  return adminSession;
}

function client(): AuthClient {
  const opts = program.opts<Globals>();
  const saved = opts.tokenFile ? readTokenFile(opts.tokenFile) : undefined;
  const stored = saved ? (JSON.parse(saved) as (Tokens & { cookies?: never }) | null) : undefined;
  const base = {
    baseUrl: opts.baseUrl,
    insecureHttpLoopback: opts.insecureHttpLoopback,
    timeoutMs: timeoutMs(),
    ...(opts.ca ? { ca: readCa(opts.ca) } : {}),
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
  if (!fromEnv)
    throw new UsageError('give the password with --password-stdin or the AUTHSTACK_PASSWORD variable');
  return fromEnv;
}

program
  .command('register <username>')
  .description('create an account (password from --password-stdin or AUTHSTACK_PASSWORD)')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (username: string, opts: { passwordStdin?: boolean }) => {
    output().emit(await client().register(username, await password(opts.passwordStdin)));
  });

program
  .command('login <username>')
  .description('log in; with --token-file the tokens are kept for the next commands')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (username: string, opts: { passwordStdin?: boolean }) => {
    const result = await client().login(username, await password(opts.passwordStdin));
    output().emit({
      message: result.message,
      user: result.user,
      session: program.opts<Globals>().session,
      tokens_saved: Boolean(program.opts<Globals>().tokenFile),
    });
  });

program
  .command('whoami')
  .description('the logged-in account (GET /auth/me)')
  .action(async () => output().emit(await (await actingClient()).me()));
program
  .command('protected')
  .description('the protected resource (GET /api/protected)')
  .action(async () => output().emit(await (await actingClient()).request('GET', '/api/protected')));
program
  .command('admin')
  .description('the admin panel of the resource service (GET /api/admin)')
  .action(async () => output().emit(await (await actingClient()).request('GET', '/api/admin')));
program
  .command('sessions')
  .description("the logged-in account's sessions")
  .action(async () =>
    output().emit(await (await actingClient()).sessions(), (sessions) =>
      table(sessions, ['id', 'current', 'cookie', 'created_at', 'last_used_at', 'ip', 'user_agent']),
    ),
  );
program
  .command('logout')
  .description('end the session of the token file')
  .action(async () => {
    await client().logout();
    output().emit({ status: 'logged out' }, (v) => v.status);
  });

adminCommands(program, { client: actingClient, output });

program
  .command('scenarios')
  .description(
    'run the end-to-end scenarios through the gateway and print a table (admin ones with ADMIN_USERNAME and ADMIN_PASSWORD[_FILE]); exit 1 on any failure',
  )
  .option(
    '--session-mode',
    'the resource service runs VERIFY_MODE=session',
    process.env.VERIFY_MODE === 'session',
  )
  .option('--junit <file>', 'also write a JUnit XML report to this file, for CI systems')
  .action(async (opts: { sessionMode?: boolean; junit?: string }) => {
    const globals = program.opts<Globals>();
    checkBaseUrl(globals.baseUrl, globals.insecureHttpLoopback);
    // Reach the gateway once first: no answer at all is exit 3 or 4 with its cause, not a table of failures.
    await client().call('GET', '/.well-known/openid-configuration');
    const results = await runScenarios({
      baseUrl: globals.baseUrl,
      insecureHttpLoopback: globals.insecureHttpLoopback,
      ...(globals.ca ? { ca: readCa(globals.ca) } : {}),
      admin: adminCredentials(),
      sessionMode: Boolean(opts.sessionMode),
    });
    if (opts.junit) writeJunit(opts.junit, results);
    const failed = results.filter((r) => !r.pass).length;
    output().emit({ passed: results.length - failed, failed, results }, () => formatTable(results));
    if (failed > 0) process.exitCode = EXIT.refused;
  });

try {
  await program.parseAsync();
} catch (error) {
  const code = (error as { code?: unknown }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') {
    process.exitCode = EXIT.ok;
  } else {
    const failure = describeFailure(error);
    // commander has already printed its own usage errors.
    const printed = typeof code === 'string' && code.startsWith('commander.');
    if (program.opts<Globals>().json) console.error(JSON.stringify({ error: failure.json }));
    else if (!printed) console.error(`error: ${failure.message}`);
    process.exitCode = failure.exitCode;
  }
} finally {
  await adminSession?.logout().catch(() => {});
}
