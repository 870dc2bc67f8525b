/** Stand-in for `k6/execution`: the VU and iteration the runner is executing. */
import { state } from '../runtime.ts';

export default {
  get vu() {
    return { idInTest: state.vu, idInInstance: state.vu, iterationInScenario: state.iteration };
  },
  get scenario() {
    return { name: state.scenario, iterationInTest: state.iteration, iterationInInstance: state.iteration };
  },
  test: {
    abort(reason?: string): never {
      throw new Error(`test aborted: ${reason ?? ''}`);
    },
  },
};
