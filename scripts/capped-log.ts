/**
 * Copies standard input to a log file whose size is capped: when the next lines would take the file past
 * `maxBytes`, it becomes `<file>.1` (`.1` becomes `.2`, and so on; the oldest beyond `keep` is deleted) and a new
 * file is started. Files are cut between lines (a single line longer than the cap is cut at the cap), so no file
 * ever exceeds `maxBytes` and the disk use is at most `(keep + 1) * maxBytes`. `make dev` runs every service's
 * output through it (`run_logged` in scripts/lib.sh); pino writes to standard output, so the services stay as
 * they are in the containers, where Docker's log driver does the same job.
 *
 *   node scripts/capped-log.ts <file> [maxBytes] [keep]     (defaults: 10485760 bytes, 2 older files)
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_KEEP = 2;

export function cappedLog(file: string, maxBytes: number, keep: number) {
  let fd = openSync(file, 'a', 0o600);
  let size = fstatSync(fd).size;

  function rotate(): void {
    closeSync(fd);
    rmSync(`${file}.${keep}`, { force: true });
    for (let n = keep - 1; n >= 1; n--) {
      if (existsSync(`${file}.${n}`)) renameSync(`${file}.${n}`, `${file}.${n + 1}`);
    }
    if (keep > 0) renameSync(file, `${file}.1`);
    else rmSync(file, { force: true });
    fd = openSync(file, 'a', 0o600);
    size = 0;
  }

  function put(bytes: Buffer): void {
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
    size += bytes.length;
  }

  /** Whole lines (or a cut of a too-long one) into the file, rotating before a line that would not fit. */
  function emit(bytes: Buffer): void {
    let rest = bytes;
    while (rest.length > 0) {
      const room = maxBytes - size;
      if (rest.length <= room) {
        put(rest);
        return;
      }
      // The last whole line that fits; a file holding nothing yet takes a too-long line's first maxBytes.
      const newline = room > 0 ? rest.lastIndexOf(10, room - 1) : -1;
      const take = newline >= 0 ? newline + 1 : size === 0 ? maxBytes : 0;
      if (take > 0) put(rest.subarray(0, take));
      rest = rest.subarray(take);
      rotate();
    }
  }

  // A line split across two reads waits here for its end, so rotation never separates its halves.
  let pending: Buffer = Buffer.alloc(0);
  return {
    write(chunk: Buffer): void {
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      const end = pending.lastIndexOf(10) + 1;
      const ready = end > 0 ? end : pending.length - (pending.length % maxBytes);
      emit(pending.subarray(0, ready));
      pending = pending.subarray(ready);
    },
    close(): void {
      emit(pending);
      closeSync(fd);
    },
  };
}

if (import.meta.main) {
  const [file, maxArg, keepArg] = process.argv.slice(2);
  const maxBytes = maxArg ? Number(maxArg) : DEFAULT_MAX_BYTES;
  const keep = keepArg ? Number(keepArg) : DEFAULT_KEEP;
  if (!file || !Number.isInteger(maxBytes) || maxBytes < 1024 || !Number.isInteger(keep) || keep < 0) {
    console.error('usage: node scripts/capped-log.ts <file> [maxBytes >= 1024] [keep >= 0]');
    process.exit(2);
  }
  // Outlives the terminal like the service it logs for (nohup); ends when the service closes its output.
  process.on('SIGHUP', () => {});
  process.on('SIGINT', () => {});
  const log = cappedLog(file, maxBytes, keep);
  process.stdin.on('data', (chunk: Buffer) => log.write(chunk));
  process.stdin.on('end', () => log.close());
}
