/**
 * Copies standard input to a log file whose size is capped: when the next lines would take the file past
 * `maxBytes`, it becomes `<file>.1` (`.1` becomes `.2`, and so on; the oldest beyond `keep` is deleted) and a new
 * file is started. Files are cut between lines (a single line longer than the cap is cut at the cap), so no file
 * ever exceeds `maxBytes` and the disk use is at most `(keep + 1) * maxBytes`. `make dev` runs every service's
 * output through it (`run_logged` in scripts/lib.sh); pino writes to standard output, so the services stay as
 * they are in the containers, where Docker's log driver does the same job.
 *
 *   node scripts/capped-log.ts <file>        copy standard input into <file>, capped (DEV_LOG_MAX_BYTES, DEV_LOG_KEEP)
 *   node scripts/capped-log.ts --check       exit 1 with a message when those settings are not valid
 *   node scripts/capped-log.ts --describe    the cap in words (make dev prints it)
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

/** The cap from the environment (an empty value is unset): DEV_LOG_MAX_BYTES and DEV_LOG_KEEP, or a message. */
export function capSettings(
  env: Record<string, string | undefined>,
): { maxBytes: number; keep: number } | string {
  const maxBytes = env.DEV_LOG_MAX_BYTES ? Number(env.DEV_LOG_MAX_BYTES) : DEFAULT_MAX_BYTES;
  const keep = env.DEV_LOG_KEEP ? Number(env.DEV_LOG_KEEP) : DEFAULT_KEEP;
  if (!/^\d*$/.test(env.DEV_LOG_MAX_BYTES ?? '') || !Number.isSafeInteger(maxBytes) || maxBytes < 1024)
    return 'DEV_LOG_MAX_BYTES must be a whole number of bytes, at least 1024';
  if (!/^\d*$/.test(env.DEV_LOG_KEEP ?? '') || !Number.isSafeInteger(keep))
    return 'DEV_LOG_KEEP must be a whole number of older files (0 or more)';
  return { maxBytes, keep };
}

if (import.meta.main) {
  const [arg] = process.argv.slice(2);
  const settings = capSettings(process.env);
  if (typeof settings === 'string') {
    console.error(`dev: ${settings}`);
    process.exit(1);
  }
  if (arg === undefined || arg === '--check') {
    if (arg === undefined) console.error('usage: node scripts/capped-log.ts <file> | --check | --describe');
    process.exit(arg === undefined ? 2 : 0);
  }
  if (arg === '--describe') {
    const { maxBytes, keep } = settings;
    const size =
      maxBytes % 1048576 === 0
        ? `${maxBytes / 1048576} MiB`
        : maxBytes % 1024 === 0
          ? `${maxBytes / 1024} KiB`
          : `${maxBytes} bytes`;
    const older =
      keep === 0 ? 'no older file kept' : `${keep} older kept as .1${keep > 1 ? ` to .${keep}` : ''}`;
    console.log(`each rotated at ${size}, ${older}`);
    process.exit(0);
  }
  // Outlives the terminal like the service it logs for (nohup); ends when the service closes its output.
  process.on('SIGHUP', () => {});
  process.on('SIGINT', () => {});
  const log = cappedLog(arg, settings.maxBytes, settings.keep);
  process.stdin.on('data', (chunk: Buffer) => log.write(chunk));
  process.stdin.on('end', () => log.close());
}
