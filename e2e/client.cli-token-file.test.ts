/**
 * The CLI's token file is a new file created 0600 and renamed into place (never
 * rewritten in place with an older, looser mode; never written through a symbolic link), and the CLI refuses
 * to send a password over plain HTTP except to loopback with --insecure-http-loopback.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { registerAndLogin, useAuth } from '@authstack/auth/testing';
import { AuthClient } from '@authstack/client';
import { writeTokenFile } from '@authstack/client/token-file';
import { suiteScope, useTempDir } from '@authstack/testing';

const run = promisify(execFile);
const CLI = fileURLToPath(import.meta.resolve('@authstack/client/cli'));

describe('CLI token file and base URL', () => {
  const scope = suiteScope();
  const auth = useAuth();
  let dir: string;
  let user: { username: string; password: string };

  before(async () => {
    user = await registerAndLogin(auth.url);
    dir = useTempDir(scope, 'authstack-cli');
  });

  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', AUTHSTACK_PASSWORD: user.password, ...env },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  const login = (tokenFile: string) =>
    cli([
      '--base-url',
      auth.url,
      '--insecure-http-loopback',
      '--token-file',
      tokenFile,
      'login',
      user.username,
    ]);

  it('when the token file exists with mode 0644, then it is replaced by a new file created 0600, not rewritten in place', async () => {
    const file = join(dir, 'existing.json');
    writeFileSync(file, 'null', { mode: 0o644 });
    const before = statSync(file);
    const result = await login(file);
    assert.equal(result.code, 0, result.stderr);
    const after = statSync(file);
    assert.equal(after.mode & 0o777, 0o600);
    assert.notEqual(after.ino, before.ino, 'a new file, so it never held tokens under the old mode');
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).refreshToken);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.endsWith('.tmp')),
      [],
      'no temporary file is left behind',
    );
  });

  it('when the token file is a symbolic link, then the CLI refuses it and the link target is not touched', async () => {
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'keep me', { mode: 0o644 });
    const link = join(dir, 'link.json');
    symlinkSync(target, link);
    const result = await login(link);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is a symbolic link; refusing/);
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
    assert.equal(statSync(target).mode & 0o777, 0o644);
  });

  it('when a symbolic link appears at the token file between reading and writing, then it is replaced, not followed', async () => {
    const target = join(dir, 'victim2.txt');
    writeFileSync(target, 'keep me too', { mode: 0o644 });
    const file = join(dir, 'raced.json');
    // The write path alone (what happens after the link is planted): the link is replaced by the new file.
    symlinkSync(target, file);
    writeTokenFile(file, '{"refreshToken":"r"}');
    assert.equal(readFileSync(target, 'utf8'), 'keep me too');
    assert.equal(lstatSync(file).isSymbolicLink(), false);
    assert.equal(lstatSync(file).mode & 0o777, 0o600);
  });

  it('when the saved tokens are used by the next command, then it works from the file', async () => {
    const file = join(dir, 'session.json');
    assert.equal((await login(file)).code, 0);
    const me = await cli([
      '--base-url',
      auth.url,
      '--insecure-http-loopback',
      '--token-file',
      file,
      'whoami',
    ]);
    assert.equal(me.code, 0, me.stderr);
    assert.equal(JSON.parse(me.stdout).username, user.username);
  });

  it('when --base-url is http:// to another host, then the CLI refuses before sending the password', async () => {
    const result = await cli([
      '--base-url',
      'http://auth.example.test',
      '--insecure-http-loopback',
      'login',
      'x',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /base URL must be https:\/\//);
  });

  it('when --base-url is http:// to loopback without --insecure-http-loopback, then the CLI refuses', async () => {
    const result = await cli(['--base-url', auth.url, 'login', user.username]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--insecure-http-loopback/);
  });

  it('when the SDK is given a plain http:// base URL, then it refuses unless loopback is allowed explicitly', () => {
    assert.throws(() => new AuthClient({ baseUrl: 'http://auth.example.test' }), /must be https/);
    assert.throws(() => new AuthClient({ baseUrl: auth.url }), /insecureHttpLoopback/);
    assert.throws(
      () => new AuthClient({ baseUrl: 'http://10.0.0.1:3001', insecureHttpLoopback: true }),
      /must be https/,
    );
    assert.ok(new AuthClient({ baseUrl: auth.url, insecureHttpLoopback: true }));
    assert.ok(new AuthClient({ baseUrl: 'http://[::1]:3001', insecureHttpLoopback: true }));
    assert.ok(new AuthClient({ baseUrl: 'https://auth.example.test' }));
  });
});
