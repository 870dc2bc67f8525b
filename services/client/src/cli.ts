#!/usr/bin/env node
/**
 * authstack CLI: `node services/client/src/cli.ts <command>` (or `make scenarios`).
 * Tokens stay in memory unless --token-file is given; that file is written with mode 0600.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { formatTable, runScenarios } from './scenarios.ts';
import { ApiError, AuthClient, type Tokens } from './sdk.ts';

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
    'keep tokens between commands in this file (mode 0600)',
    process.env.TOKEN_FILE,
  );

interface Globals {
  baseUrl: string;
  ca?: string;
  tokenFile?: string;
}

function client(): AuthClient {
  const opts = program.opts<Globals>();
  const stored =
    opts.tokenFile && existsSync(opts.tokenFile)
      ? (JSON.parse(readFileSync(opts.tokenFile, 'utf8')) as Tokens)
      : undefined;
  return new AuthClient({
    baseUrl: opts.baseUrl,
    ...(opts.ca ? { ca: readFileSync(opts.ca) } : {}),
    ...(stored ? { tokens: stored } : {}),
    onTokens: (tokens) => {
      if (!opts.tokenFile) return;
      writeFileSync(opts.tokenFile, JSON.stringify(tokens ?? null), { mode: 0o600 });
      chmodSync(opts.tokenFile, 0o600);
    },
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
    const results = await runScenarios({
      baseUrl: globals.baseUrl,
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
