/**
 * The Makefile on a fresh clone: every target that runs Node code installs node_modules first when it is missing
 * (or older than package-lock.json), and `make test` picks where the suite runs by checking the host
 * (scripts/test-toolchain.sh): natively with the whole toolchain, else in the test container when Docker answers,
 * else it stops and says what is missing. Run with `make -n` on a copy (make still runs the recursive `$(MAKE)` line
 * of `make test`, so the choice is real while nothing else is executed), with fake tools first on a PATH that lacks
 * the real ones.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pathWithout, testScope, useTempDir } from '@authstack/testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOOLCHAIN = ['node', 'npm', 'nginx', 'openssl', 'wrk', 'redis-server', 'promtool', 'mtail'];

/** The targets whose recipe runs Node (node, npm, npx) through scripts/node24.sh, read from the Makefile. */
function nodeTargets(): string[] {
  const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
  const targets: string[] = [];
  for (const block of makefile.split(/\n(?=[a-z][a-z0-9-]*:)/)) {
    const name = /^([a-z][a-z0-9-]*):/.exec(block)?.[1];
    if (!name || ['install', 'help'].includes(name)) continue;
    const recipe = block.split('\n').filter((line) => line.startsWith('\t'));
    if (recipe.some((line) => /\$\(NODE24\)|\bnode --import|\bnpx\b/.test(line))) targets.push(name);
  }
  return targets;
}
/** Targets that run Node code through a script or other targets rather than in their own recipe. */
const NODE_THROUGH_SCRIPTS = ['test-native', 'test-containers', 'dev'];

/** A copy with the Makefile and the scripts it reads; a package-lock.json; node_modules as asked. */
function checkout(dir: string, nodeModules: 'missing' | 'current'): string {
  const root = join(dir, 'checkout');
  mkdirSync(join(root, 'scripts'), { recursive: true });
  cpSync(join(ROOT, 'Makefile'), join(root, 'Makefile'));
  for (const script of ['test-toolchain.sh', 'node24.sh', 'lib.sh', 'stack-files.sh', 'promtool.sh'])
    cpSync(join(ROOT, 'scripts', script), join(root, 'scripts', script));
  writeFileSync(join(root, 'package-lock.json'), '{}\n');
  utimesSync(join(root, 'package-lock.json'), new Date(1_000_000_000_000), new Date(1_000_000_000_000));
  if (nodeModules === 'current') {
    mkdirSync(join(root, 'node_modules'));
    writeFileSync(join(root, 'node_modules', '.package-lock.json'), '{}\n');
  }
  return root;
}

/** PATH: fakes first, then every command of this machine except the toolchain's and docker. */
const fakePath = (dir: string, fakes: Record<string, string>) =>
  pathWithout(dir, [...TOOLCHAIN, 'docker'], fakes);

const WHOLE_TOOLCHAIN = {
  node: 'echo 24',
  nginx: 'exit 0',
  openssl: 'exit 0',
  wrk: 'exit 0',
  'redis-server': 'exit 0',
  chromium: 'exit 0',
  promtool: 'exit 0',
  mtail: 'exit 0',
};

function make(root: string, PATH: string, args: string[], chromium = join(PATH, 'chromium')) {
  return spawnSync('make', ['--no-print-directory', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      PATH,
      HOME: root,
      CHROMIUM_PATH: chromium,
      NODE24_HOME: join(root, 'no-node-cache'),
      MAKEFLAGS: '',
      MFLAGS: '',
    },
  });
}

describe('make on a fresh clone', () => {
  const parsed = nodeTargets();
  const targets = [...parsed, ...NODE_THROUGH_SCRIPTS];

  it('when the Makefile is read, then the targets that run Node code are found (the check below can fail)', () => {
    for (const target of ['lint', 'typecheck', 'unit', 'test-cluster', 'seed', 'scenarios', 'bench'])
      assert.ok(parsed.includes(target), target);
  });

  for (const target of targets) {
    it(`when node_modules is missing, then make ${target} runs npm ci first`, (t) => {
      const dir = useTempDir(testScope(t), 'authstack-make');
      const root = checkout(dir, 'missing');
      const result = make(root, fakePath(dir, WHOLE_TOOLCHAIN), ['-n', target]);
      // The branch that runs Node in a container of the running stack needs no node_modules here: left out.
      const out = result.stdout.replace(/docker compose (?:(?:-f|--profile) \S+ )*(exec|run) [^;]*;/g, '');
      const install = out.indexOf('npm ci --no-audit --no-fund');
      assert.ok(install >= 0, `${out}${result.stderr}`);
      // The first command that needs node_modules comes after the install.
      const run = out.search(
        /npx biome|npm (run|test|audit|outdated)\b|node (--import|services|infra|scripts|bench)|bash scripts\/(dev|container-stage|redis-cluster)\.sh/,
      );
      assert.ok(run === -1 || run > install, out);
    });
  }

  it('when node_modules is current, then make lint installs nothing', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make');
    const result = make(checkout(dir, 'current'), fakePath(dir, WHOLE_TOOLCHAIN), ['-n', 'lint']);
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /npm ci/);
    assert.match(result.stdout, /npx biome check \./);
  });
});

describe('make test chooses where the suite runs', () => {
  it('when the host has the whole toolchain, then it runs make test-native here', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make');
    const result = make(checkout(dir, 'current'), fakePath(dir, WHOLE_TOOLCHAIN), ['-n', 'test']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /npm test/);
    assert.doesNotMatch(result.stdout, /bash scripts\/test-docker\.sh/);
  });

  it('when tools are missing and Docker answers, then it names them and runs the test container', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make');
    const PATH = fakePath(dir, { docker: 'exit 0' });
    const result = make(checkout(dir, 'current'), PATH, ['-n', 'test'], '/nonexistent/chromium');
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /not on this host: Node 24, nginx, openssl, wrk, redis-server, chromium \(\/nonexistent\/chromium\), promtool \(bash scripts\/promtool\.sh --install\), mtail; running the suite in the test container/,
    );
    assert.match(result.stdout, /bash scripts\/test-docker\.sh/);
    assert.doesNotMatch(result.stdout, /npm test/);
  });

  it('when one tool is missing, then that one is named', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make');
    const { wrk: _wrk, ...withoutWrk } = WHOLE_TOOLCHAIN;
    const result = make(checkout(dir, 'current'), fakePath(dir, { ...withoutWrk, docker: 'exit 0' }), [
      '-n',
      'test',
    ]);
    assert.match(result.stdout, /not on this host: wrk; running the suite in the test container/);
  });

  it('when promtool is not on PATH but scripts/promtool.sh extracted it into the cache, then it runs here', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make');
    const root = checkout(dir, 'current');
    const { promtool: _promtool, ...withoutPromtool } = WHOLE_TOOLCHAIN;
    const PATH = fakePath(dir, { ...withoutPromtool, docker: 'exit 0' });
    const missing = make(root, PATH, ['-n', 'test']);
    assert.match(
      missing.stdout,
      /not on this host: promtool \(bash scripts\/promtool\.sh --install\); running/,
    );
    const cached = join(root, '.cache/authstack/promtool'); // HOME is the checkout
    mkdirSync(cached, { recursive: true });
    writeFileSync(join(cached, 'promtool'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const result = make(root, PATH, ['-n', 'test']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /npm test/);
    assert.doesNotMatch(result.stdout, /bash scripts\/test-docker\.sh/);
  });

  it('when tools are missing and no Docker engine answers, then it stops and says what to do', (t) => {
    const dir = useTempDir(testScope(t), 'authstack-make');
    const PATH = fakePath(dir, { docker: 'exit 1' });
    const result = make(checkout(dir, 'current'), PATH, ['-n', 'test'], '/nonexistent/chromium');
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /no Docker engine answers for the test container/);
    assert.match(result.stderr, /install them \(docs\/testing\.md\) or start Docker/);
  });
});
