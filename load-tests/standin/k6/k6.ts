/** Stand-in for the `k6` module: check, fail, sleep, group. */
import { addMetric, state } from '../runtime.ts';

export function check<T>(value: T, sets: Record<string, (value: T) => boolean>): boolean {
  let all = true;
  for (const [name, predicate] of Object.entries(sets)) {
    let ok = false;
    try {
      ok = Boolean(predicate(value));
    } catch {
      ok = false;
    }
    const tally = state.checks.get(name) ?? { passes: 0, fails: 0 };
    if (ok) tally.passes++;
    else tally.fails++;
    state.checks.set(name, tally);
    addMetric('checks', 'rate', ok ? 1 : 0);
    all &&= ok;
  }
  return all;
}

export function fail(message?: string): never {
  throw new Error(message ?? 'fail() called');
}

export function sleep(seconds: number): void {
  if (seconds > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

export function group<T>(_name: string, fn: () => T): T {
  return fn();
}

export default { check, fail, sleep, group };
