import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary, spawnCli } from '../helpers/cli.js';
import {
  expectExactlyOnce,
  leaseHolder,
  setUpCollector,
  storedRawRecords,
  TEST_SOURCE,
  type CollectorEnv,
} from '../helpers/collector-env.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const EVENT_COUNT = 20_000;
const LEASE_TTL_SECS = 3;

/**
 * `collect --once` is a node like any other: it collects only the datasets whose leases it holds. It leaves to a
 * running follower what that follower collects, and takes over at once from a collector that crashed on the
 * same machine instead of waiting for its leases to run out.
 */
describe('collect --once shares the datasets through their leases', () => {
  let setup: CollectorEnv;
  const now = Date.now();
  const followers: ChildProcess[] = [];
  const jobId = `${TEST_SOURCE}/access_requests`;

  beforeAll(async () => {
    setup = await setUpCollector({
      seed: 11,
      traffic: { kind: 'fixed', fromMs: now - 30 * HOUR_MS, toMs: now - HOUR_MS, count: EVENT_COUNT },
      // Slow pages keep the follower's backfill going while the catch-up runs start.
      faults: { slow: { delayMs: 60 } },
    });
  });
  afterAll(async () => {
    for (const follower of followers) follower.kill('SIGKILL');
    await setup.cleanup();
  });

  const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
    ...setup.env,
    ZEROTRAIL_COLLECT__BACKFILL_DAYS: '2',
    ZEROTRAIL_CLOUDFLARE__PAGE_SIZE: '100',
    ZEROTRAIL_COLLECT__LEASE_TTL_SECS: String(LEASE_TTL_SECS),
    ...overrides,
  });

  const holderOf = (id: string): string | null => leaseHolder(setup.dataDir, id);

  async function startFollower(): Promise<{ child: ChildProcess; holder: string }> {
    const child = spawnCli(['collect'], env());
    child.stdin?.end();
    followers.push(child);
    let holder: string | null = null;
    await waitFor(
      'the follower to claim the Access logs lease',
      () => {
        holder = holderOf(jobId);
        return holder !== null && !holder.includes('-once-');
      },
      { timeoutMs: 60_000 },
    );
    return { child, holder: holder ?? '' };
  }

  it('leaves a followed dataset to its follower, and takes over from a crashed one at once', async () => {
    const first = await startFollower();

    // The follower holds and renews the lease: the catch-up run waits out one lease lifetime, then leaves it.
    const beside = await runBinary(['collect', '--once'], env());
    expect(beside.code, beside.stderr).toBe(0);
    expect(beside.stderr).toContain('Collected by another running zerotrail node');
    expect(beside.stderr).toContain(jobId);
    expect(holderOf(jobId)).toBe(first.holder);

    // A crash leaves the lease taken for up to its TTL; a catch-up run on the same machine sees the process is
    // gone and carries on from the committed cursor at once. The long TTL makes a wait for it show.
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.on('exit', resolve));
    expect(holderOf(jobId)).toBe(first.holder);
    const after = await runBinary(['collect', '--once'], env({ ZEROTRAIL_COLLECT__LEASE_TTL_SECS: '600' }));
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).not.toContain('Collected by another');
    expect(after.stderr).toMatch(/Stored \d+ new events?/);
    // A clean exit gives the lease back.
    expect(holderOf(jobId)).toBeNull();

    const expected = setup.simulator.eventsBetween(now - 2 * 24 * HOUR_MS, now + HOUR_MS);
    expect(expected.length).toBe(EVENT_COUNT);
    expectExactlyOnce(await storedRawRecords(setup.env), expected);
  }, 120_000);
});

describe('collect --once announces a backfill only for the datasets it collects', () => {
  let setup: CollectorEnv;
  const now = Date.now();
  const followers: ChildProcess[] = [];
  const jobId = `${TEST_SOURCE}/access_requests`;

  beforeAll(async () => {
    setup = await setUpCollector(
      {
        seed: 12,
        traffic: { kind: 'fixed', fromMs: now - 30 * HOUR_MS, toMs: now - HOUR_MS, count: 1_000 },
        // The follower's first Access logs page hangs, so it holds the lease of a dataset with no cursor yet.
        faults: { slow: { delayMs: 60_000, routes: ['access-requests'], maxTimes: 1 } },
      },
      // Unverified, so that the follower's request is the first to the Access logs.
      'unverified',
    );
  });
  afterAll(async () => {
    for (const follower of followers) follower.kill('SIGKILL');
    await setup.cleanup();
  });

  it('leaves out a fresh dataset whose lease a follower holds', async () => {
    const env = { ...setup.env, ZEROTRAIL_COLLECT__LEASE_TTL_SECS: String(LEASE_TTL_SECS) };
    const follower = spawnCli(['collect'], env);
    follower.stdin?.end();
    followers.push(follower);
    await waitFor(
      'the follower to claim the Access logs lease',
      () => leaseHolder(setup.dataDir, jobId)?.includes('-once-') === false,
      { timeoutMs: 60_000 },
    );

    const beside = await runBinary(['collect', '--once'], env);
    expect(beside.code, beside.stderr).toBe(0);
    expect(beside.stderr).toContain(
      `Collected by another running zerotrail node, which holds and renews their leases: ${jobId}`,
    );
    expect(beside.stderr).not.toMatch(/Backfilling[^\n]*access_requests/);
    // No Access logs page was served yet, so the dataset still had no cursor: it was fresh.
    expect(setup.simulator.requestLog().some((entry) => entry.path.endsWith('/access/logs/access_requests'))).toBe(
      false,
    );
  }, 120_000);
});
