/** Stand-in for `k6/metrics`: custom metrics recorded for the summary and the tests. */
import { addMetric } from '../runtime.ts';

const metric = (type: 'counter' | 'rate' | 'trend' | 'gauge') =>
  class {
    readonly name: string;
    constructor(name: string) {
      if (!/^[A-Za-z0-9_]{1,128}$/.test(name)) throw new Error(`invalid metric name ${name}`);
      this.name = name;
    }
    add(value: number | boolean): void {
      addMetric(this.name, type, Number(value));
    }
  };

export const Counter = metric('counter');
export const Rate = metric('rate');
export const Trend = metric('trend');
export const Gauge = metric('gauge');
