/**
 * Dependencies' install scripts are decided in package.json's `allowScripts` (npm 11.16 and later): every package
 * of the lockfile that has one is named there, and nothing else is, so `npm ci` prints no "install scripts not
 * yet covered by allowScripts" notice and a new dependency with an install script fails this test until someone
 * decides. The reasons are in docs/operations.md ("Install scripts").
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};

/** The package names in the lockfile whose install scripts npm would run. */
const withInstallScripts = [
  ...new Set(
    Object.entries(lock.packages)
      .filter(([path, entry]) => path.includes('node_modules/') && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)),
  ),
].sort();

describe('install scripts of dependencies', () => {
  it('when a locked package has an install script, then allowScripts decides it, and names nothing else', () => {
    assert.ok(withInstallScripts.length > 0, 'the lockfile lists packages with install scripts');
    assert.deepEqual(Object.keys(manifest.allowScripts ?? {}).sort(), withInstallScripts);
  });

  it('when every install script is denied, then none is allowed (no compiler or download at install time)', () => {
    assert.deepEqual(
      Object.entries(manifest.allowScripts ?? {}).filter(([, allowed]) => allowed !== false),
      [],
    );
  });

  it('when bcrypt is installed without its install script, then it loads a prebuilt binding for this machine and the images', async () => {
    const bcryptDir = join(ROOT, 'node_modules/bcrypt');
    const gypBuild = createRequire(join(bcryptDir, 'bcrypt.js'))('node-gyp-build') as {
      path(dir: string): string;
    };
    const binding = relative(bcryptDir, gypBuild.path(bcryptDir)).split(sep);
    assert.equal(binding[0], 'prebuilds', `bcrypt's binding comes from ${binding.join('/')}`);
    // The images are Debian (glibc) on amd64 or arm64: both have a prebuilt binding.
    for (const platform of ['linux-x64', 'linux-arm64']) {
      assert.ok(existsSync(join(bcryptDir, 'prebuilds', platform, 'bcrypt.glibc.node')), platform);
    }
    const bcrypt = (await import('bcrypt')).default;
    assert.equal(await bcrypt.compare('pw', await bcrypt.hash('pw', 4)), true);
  });
});
