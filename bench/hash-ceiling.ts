/**
 * The login ceiling on this machine, in a process of its own: BENCH_CONCURRENCY (= its UV_THREADPOOL_SIZE) bcrypt
 * comparisons at BENCH_COST kept in flight for BENCH_SECONDS; prints one JSON line with the hashes per second and
 * the time of one hash alone. A login is one such comparison (plus an HMAC for the pepper), so this is the most
 * logins per second the machine's cores can do at that cost.
 */
import bcrypt from 'bcrypt';

const cost = Number(process.env.BENCH_COST);
const seconds = Number(process.env.BENCH_SECONDS);
const concurrency = Number(process.env.BENCH_CONCURRENCY);
const password = 'benchmark passphrase';
const hash = await bcrypt.hash(password, cost);

const alone: number[] = [];
for (let n = 0; n < 3; n++) {
  const start = performance.now();
  await bcrypt.compare(password, hash);
  alone.push(performance.now() - start);
}
alone.sort((a, b) => a - b);

let done = 0;
const start = performance.now();
const end = start + seconds * 1000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await bcrypt.compare(password, hash);
      done += 1;
    }
  }),
);
const elapsed = (performance.now() - start) / 1000;
console.log(
  JSON.stringify({
    cost,
    concurrency,
    hashes: done,
    seconds: elapsed,
    perSecond: done / elapsed,
    aloneMs: alone[1],
  }),
);
