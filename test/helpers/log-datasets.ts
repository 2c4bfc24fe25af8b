import { expect } from 'vitest';
import type { ManualClock } from '../../src/core/clock.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { runInProcess, type CliResult } from './cli.js';
import type { CollectorEnv } from './collector-env.js';

/** The datasets collected by time and cursor, each a log of its own at the simulator. */
export const LOG_DATASETS = ['access_requests', 'scim_updates', 'audit_logs'] as const;
export type LogDataset = (typeof LOG_DATASETS)[number];

/** One `collect --once`, as its own process would run it: on the shared time, with nothing else carried over. */
export async function collectOnce(
  setup: CollectorEnv,
  clock: ManualClock,
  args: readonly string[] = [],
): Promise<CliResult> {
  const result = await runInProcess(['collect', '--once', ...args], {
    env: setup.env,
    clock: { now: () => clock.now() },
  });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** The raw records of `dataset` stored since `from`, oldest first. */
export async function storedRaw(
  setup: CollectorEnv,
  clock: ManualClock,
  dataset: LogDataset,
  from = '-30d',
): Promise<Record<string, unknown>[]> {
  const result = await runInProcess(
    ['search', `dataset:${dataset}`, '--from', from, '--format', 'ndjson', '--limit', '1000000', '--order', 'asc'],
    { env: setup.env, clock },
  );
  expect(result.code, result.stderr).toBe(0);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { raw: Record<string, unknown> }).raw);
}

/** What the simulator holds of `dataset` between the two times, as it serves it. */
export function servedBetween(
  sim: Simulator,
  dataset: LogDataset,
  fromMs: number,
  toMs: number,
): Record<string, unknown>[] {
  if (dataset === 'access_requests') return [...sim.eventsBetween(fromMs, toMs)];
  if (dataset === 'scim_updates') return [...sim.scimUpdatesBetween(fromMs, toMs)];
  return [...sim.auditLogsBetween(fromMs, toMs, 'v2')];
}
