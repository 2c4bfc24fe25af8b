import { afterEach } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';

/**
 * Returns a `start` function for one test file: each call starts a simulator from fresh defaults (a new
 * clock each time, so tests never share time) overridden by the call's options, and every simulator a test
 * started is stopped after it.
 */
export function trackedSimulators(defaults: () => SimulatorOptions): (options?: SimulatorOptions) => Promise<Simulator> {
  const running: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((simulator) => simulator.stop()));
  });
  return async (options = {}) => {
    const simulator = await startSimulator({ ...defaults(), ...options });
    running.push(simulator);
    return simulator;
  };
}
