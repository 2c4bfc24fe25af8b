import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUnverified, runInProcess, startCli, type RunningCli } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const CAP_NOTICE =
  'notice: backfill capped to 548 days (18 months), the longest Cloudflare keeps audit logs; Access and SCIM logs ' +
  'start at most 180 days back, the longest it keeps them (Enterprise plans).';

/** Every stored event of every dataset, counted as an analyst would see them. */
async function storedEvents(env: Record<string, string>, query = ''): Promise<number> {
  const result = await runInProcess(
    ['search', query, '--from', '-400d', '--limit', '100000000', '--format', 'ndjson'],
    {
      env,
    },
  );
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.split('\n').filter((line) => line !== '').length;
}

/** The sources with a dataset that was collected or failed: those a run has touched. */
async function sourcesTouched(env: Record<string, string>): Promise<string[]> {
  const result = await runInProcess(['source', 'status', '--format', 'json'], { env });
  expect(result.code, result.stderr).toBe(0);
  const rows = JSON.parse(result.stdout) as {
    source: string;
    lastSuccessAt: string | null;
    lastErrorCode: string | null;
  }[];
  return [
    ...new Set(rows.filter((row) => row.lastSuccessAt !== null || row.lastErrorCode !== null).map((row) => row.source)),
  ].sort();
}

/** The access_requests state `source list` and `source status` give, in JSON. */
async function accessRequestsStates(
  env: Record<string, string>,
): Promise<{ list: string | undefined; status: string | undefined }> {
  const listed = await runInProcess(['source', 'list', '--format', 'json'], { env });
  const status = await runInProcess(['source', 'status', '--format', 'json'], { env });
  const sources = JSON.parse(listed.stdout) as { datasets: { dataset: string; state: string }[] }[];
  const rows = JSON.parse(status.stdout) as { dataset: string; state: string }[];
  return {
    list: sources[0]?.datasets.find((row) => row.dataset === 'access_requests')?.state,
    status: rows.find((row) => row.dataset === 'access_requests')?.state,
  };
}

describe('collect --once stopped part way', () => {
  let setup: CollectorEnv;
  let env: Record<string, string>;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 11,
      traffic: { kind: 'fixed', fromMs: now - 20 * DAY_MS, toMs: now - HOUR_MS, count: 30_000 },
      // Small, slow pages stretch the backfill over many seconds, so the signal lands in the middle of it.
      faults: { slow: { delayMs: 30 } },
    });
    env = { ...setup.env, ZEROTRAIL_CLOUDFLARE__PAGE_SIZE: '100' };
  });
  afterAll(async () => setup.cleanup());

  /** A `collect --once` backfill that has stored its first page. */
  const backfillUnderWay = async (): Promise<RunningCli> => {
    const running = startCli(['collect', '--once', '--backfill-days', '30'], env);
    await waitFor(
      'a page to be stored',
      () => running.stderr().includes('events stored') || running.child.exitCode !== null,
      { timeoutMs: 30_000 },
    );
    return running;
  };

  it('counts every event it stored, exits 128 + the signal number and says last that it stopped, on SIGTERM and on SIGINT', async () => {
    let total = 0;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const { child, exited, stderr: written } = await backfillUnderWay();
      await new Promise((resolve) => setTimeout(resolve, 500));
      child.kill(signal);
      const code = await exited;
      const stderr = written();

      expect(code, stderr).toBe(signal === 'SIGTERM' ? 143 : 130);
      const lines = stderr.trimEnd().split('\n');
      expect(lines.at(-1), signal).toMatch(
        /^error\[COLLECT_STOPPED\]: Stopped before every source caught up \(not finished: [^)]*access_requests[^)]*\); what was stored is kept, and the next run resumes where this one stopped\.$/,
      );
      const reported = Number(/Stored (\d+) new events? \(0 already stored\)/.exec(stderr)?.[1]);
      expect(reported, stderr).toBeGreaterThan(0);
      total += reported;
      expect(await storedEvents(env), signal).toBe(total);
      // The stopped backfill shows as such, not as a dataset never collected or one missing from the list.
      expect(await accessRequestsStates(env), signal).toEqual({ list: 'backfilling', status: 'backfilling' });
    }
  }, 120_000);

  it('takes a SIGTERM sent twice back to back, as GNU timeout sends it, as one request to stop gracefully', async () => {
    const { child, exited, stderr: written } = await backfillUnderWay();
    // `timeout` signals the process, then its process group: the second lands after the first was handled.
    child.kill('SIGTERM');
    await waitFor('the first signal to be handled', () => written().includes('Stopping (SIGTERM)'), {
      timeoutMs: 5_000,
      pollMs: 1,
    });
    child.kill('SIGTERM');
    const code = await exited;
    const stderr = written();

    expect(code, stderr).toBe(143);
    expect(stderr).toMatch(/Stored \d+ new events? \(\d+ already stored\)/);
    expect(stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^error\[COLLECT_STOPPED\]: Stopped before every source caught up/,
    );
  }, 60_000);
});

describe('collect --once with several --source flags and a long --backfill-days', () => {
  let setup: CollectorEnv;
  const GOOD = 'zt-sim-good-token-0000000000000000000000001';
  const REVOKED = 'zt-sim-revoked-token-000000000000000000002';

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector(
      {
        seed: 12,
        traffic: { kind: 'fixed', fromMs: now - 2 * DAY_MS, toMs: now - HOUR_MS, count: 200 },
        tokens: [{ value: GOOD }, { value: REVOKED, status: 'disabled' }],
      },
      false,
    );
    // Longer than Cloudflare keeps anything, so that the caps seen here are Cloudflare's: a shorter retention holds
    // a backfill first (collect-retention.test.ts).
    setup.env['ZEROTRAIL_RETENTION__MAX_AGE_DAYS'] = '36500';
    for (const [name, token] of [
      ['Good', GOOD],
      ['Revoked', REVOKED],
      ['Idle', GOOD],
    ] as const) {
      const added = await runInProcess(addUnverified(name, setup.simulator.accountId, 'TOKEN'), {
        env: { ...setup.env, TOKEN: token },
      });
      expect(added.code, added.stderr).toBe(0);
    }
  });
  afterAll(async () => setup.cleanup());

  it('refuses a --backfill-days that is not a whole number, naming the flag', async () => {
    for (const [value, shown] of [
      ['', 'empty text'],
      ['abc', '"abc"'],
      ['-1', '"-1"'],
      ['2.5', '"2.5"'],
    ] as const) {
      const result = await runInProcess(['collect', '--once', '--source', 'Good', '--backfill-days', value], {
        env: setup.env,
      });
      expect(result.code, value).toBe(2);
      expect(result.stderr).toContain(
        `error[CLI_USAGE]: Invalid command-line value:\n  - --backfill-days: expected a whole number of days, 0 or more, got ${shown}`,
      );
    }
  });

  it('says in its help that --source may be repeated', async () => {
    const help = await runInProcess(['collect', '--help'], { env: setup.env });
    expect(help.stdout).toMatch(/--source <name> +collect only this source; repeat it to collect several/);
  });

  it('names every unknown source at once', async () => {
    const result = await runInProcess(
      ['collect', '--once', '--source', 'Good', '--source', 'Nope', '--source', 'Nah'],
      {
        env: setup.env,
      },
    );
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(
      'error[SOURCE_NOT_FOUND]: No data source is named "Nope".\nNo data source is named "Nah".\nhint: Known sources:',
    );
  });

  it('collects every source named, and caps any backfill past 18 months with a notice', async () => {
    const result = await runInProcess(
      ['collect', '--once', '--source', 'Good', '--source', 'Revoked', '--backfill-days', '1e3'],
      { env: setup.env },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(CAP_NOTICE);
    expect(result.stderr).toMatch(
      /error\[COLLECT_FAILED\][\s\S]*Revoked: access_requests, access_users(, \w+)*: error\[SOURCE_AUTH_FAILED\]/,
    );
    expect(result.stderr).not.toMatch(/Good\/\w+: error/);
    // A revoked token fails the optional datasets with the same words as the others: one line for all of them.
    expect(result.stderr).not.toMatch(/Revoked\/\w+: error/);
    expect(await storedEvents(setup.env, 'source:Good AND dataset:access_requests')).toBe(200);
    const touched = await sourcesTouched(setup.env);
    expect(touched).toEqual(['Good', 'Revoked']);
  });

  it('caps a long backfill from the environment and the config file the same way', async () => {
    const file = join(setup.dataDir, 'long-backfill.yaml');
    writeFileSync(file, 'collect:\n  backfill_days: 99999999999\n');
    const idle = ['collect', '--once', '--source', 'Idle'];
    for (const [args, extra] of [
      [['--config', file, ...idle], {}],
      [idle, { ZEROTRAIL_COLLECT__BACKFILL_DAYS: '600' }],
      [[...idle, '--backfill-days', '99999999999'], {}],
    ] as const) {
      const result = await runInProcess(args, { env: { ...setup.env, ...extra } });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(CAP_NOTICE);
    }
    expect(await sourcesTouched(setup.env)).toEqual(['Good', 'Idle', 'Revoked']);
  });

  it('says how many days each dataset backfills when the days asked for pass what Cloudflare keeps of some', async () => {
    for (const [name, days, audit] of [
      ['Long', '400', 400],
      ['Longer', '1e3', 548],
    ] as const) {
      const added = await runInProcess(addUnverified(name, setup.simulator.accountId, 'TOKEN'), {
        env: { ...setup.env, TOKEN: GOOD },
      });
      expect(added.code, added.stderr).toBe(0);
      const result = await runInProcess(['collect', '--once', '--source', name, '--backfill-days', days], {
        env: setup.env,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(
        `Backfilling ${audit} days for ${name}/audit_logs; 180 days for ${name}/access_requests, ${name}/scim_updates. `,
      );
    }
  });
});
