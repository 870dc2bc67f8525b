/** Stand-in for `k6/data`: SharedArray calls its function once per name and freezes the result. */
const shared = new Map<string, readonly unknown[]>();

export class SharedArray {
  constructor(name: string, make: () => unknown[]) {
    if (typeof make !== 'function') throw new TypeError('SharedArray needs a function');
    let data = shared.get(name);
    if (!data) {
      const made = make();
      if (!Array.isArray(made)) throw new TypeError('SharedArray: the function must return an array');
      data = Object.freeze(structuredClone(made));
      shared.set(name, data);
    }
    // biome-ignore lint/correctness/noConstructorReturn: an array-like, as k6's SharedArray is
    return data as unknown as SharedArray;
  }
}
