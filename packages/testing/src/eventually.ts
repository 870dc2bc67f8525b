/**
 * Poll `check` until it holds: it returns anything but `false` without throwing (an assertion that passes, or a
 * condition that is true). Fails after `timeout` ms with the last assertion's error as the cause. For waiting on
 * something that happens on its own time (a process starting, a key expiring in Redis, a background refresh): the
 * wait is as long as it takes, never a guessed sleep. `timeout` and `interval` may also be given as numbers.
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  options: { timeout?: number; interval?: number } | number = {},
  interval = 100,
): Promise<Exclude<T, false>> {
  const { timeout = 10_000, interval: step = interval } =
    typeof options === 'number' ? { timeout: options, interval } : options;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== false) return result as Exclude<T, false>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, step));
  }
  throw new Error(`condition not met within ${timeout} ms`, { cause: lastError });
}
