import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A PATH for a spawned script: `dir/bin` holding the fake commands (name -> shell body) first, then a link to every
 * command of this machine's PATH except those `leftOut` (a machine without openssl, without the toolchain, ...).
 */
export function pathWithout(dir: string, leftOut: string[], fakes: Record<string, string> = {}): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  for (const from of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (!existsSync(from)) continue;
    for (const name of readdirSync(from)) {
      if (leftOut.includes(name) || existsSync(join(bin, name))) continue;
      symlinkSync(join(from, name), join(bin, name));
    }
  }
  return bin;
}
