import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, storedRawRecords, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';
import { serve } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const EVENTS = 30;
// Sorts before TEST_SOURCE, so its datasets are built first: were it given a client, the budget it sized would be
// the one the other source shares, as both use the simulator's one token.
const CAPPED = 'Capped account';
// Worked when it was added (the tests' lifted limit); a limit of 1200 per 300 seconds gives it 0.0024 requests.
const CAPPED_SHARE = '0.000002';
const LOWERED_LIMIT = '1200/300';
const WHAT_IT_GIVES = `Rate share ${CAPPED_SHARE} gives 0.0024 of 1200 requests per 300 seconds, less than one per window`;
const REMEDY = [
  'the smallest share that works with this limit is 0.00084',
  'Remove the source and add it again with --rate-share 0.00084 or more',
  'set ZEROTRAIL_CF_RATE_LIMIT (cloudflare.rate_limit) to 500000/300 or more',
];
const PASSWORD = 'a long enough password';

interface DatasetRow {
  readonly source: string;
  readonly dataset: string;
  readonly state: string;
  readonly lastErrorCode: string | null;
  readonly lastError: string | null;
}

function expectCappedRefused(rows: readonly DatasetRow[]): void {
  const capped = rows.filter((row) => row.source === CAPPED);
  expect(capped.length).toBeGreaterThan(0);
  for (const row of capped) {
    expect(row, row.dataset).toMatchObject({ state: 'failed', lastErrorCode: 'CONFIG_INVALID' });
    expect(row.lastError).toContain(WHAT_IT_GIVES);
    for (const part of REMEDY) expect(row.lastError).toContain(part);
  }
}

describe('a stored rate share too small for the current limit fails that source alone', () => {
  let setup: CollectorEnv;
  let lowered: Record<string, string>;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 11,
      traffic: { kind: 'fixed', fromMs: now - 2 * HOUR_MS, toMs: now - HOUR_MS, count: EVENTS },
    });
    const added = await runInProcess(
      [
        'source',
        'add',
        '--name',
        CAPPED,
        '--account-id',
        setup.simulator.accountId,
        '--token-env',
        'CF_TOKEN',
        '--no-verify',
        '--rate-share',
        CAPPED_SHARE,
      ],
      { env: setup.env },
    );
    expect(added.code, added.stderr).toBe(0);
    lowered = { ...setup.env, ZEROTRAIL_CF_RATE_LIMIT: LOWERED_LIMIT, ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1' };
  });
  afterAll(async () => setup.cleanup());

  it('collect --once collects the other source, then exits non-zero naming the capped one and how to fix it', async () => {
    const result = await runInProcess(['collect', '--once'], { env: lowered });
    // COLLECT_FAILED's class, not the 2 of a configuration that stops the whole run.
    expect(result.code, result.stderr).toBe(1);
    // Every dataset of the capped source fails with the one refusal, said once for all of them.
    expect(result.stderr).toMatch(
      new RegExp(
        `^error\\[COLLECT_FAILED\\]: ${CAPPED}: access_requests, (\\w+, )+\\w+: error\\[CONFIG_INVALID\\] Rate share`,
        'm',
      ),
    );
    expect(result.stderr).toContain(`: error[CONFIG_INVALID] ${WHAT_IT_GIVES}`);
    expect(result.stderr.split('\n').filter((line) => line.includes('error[CONFIG_INVALID]'))).toHaveLength(2);
    expect(result.stderr).toMatch(
      new RegExp(`^${CAPPED}: access_requests, (\\w+, )+\\w+ failed: error\\[CONFIG_INVALID\\]`, 'm'),
    );
    // Refused before it starts, it is not announced as backfilled; the other source is.
    const backfill = result.stderr.split('\n').find((line) => line.startsWith('Backfilling'));
    expect(backfill).toContain(`${TEST_SOURCE}/access_requests`);
    expect(backfill).not.toContain(CAPPED);
    for (const part of REMEDY) expect(result.stderr).toContain(part);
    expect(result.stderr).toContain(
      `hint: zerotrail source remove 'Capped account', then printf %s "$TOKEN" | zerotrail source add --name 'Capped account' --account-id ${setup.simulator.accountId} --token-stdin --rate-share 0.00084`,
    );
    expect(result.stderr).not.toContain(`${TEST_SOURCE}/access_requests: error`);
    expect(result.stderr).toContain(`Stored ${EVENTS} new events`);
    expect(await storedRawRecords(setup.env)).toHaveLength(EVENTS);

    const status = await runInProcess(['source', 'status', '--format', 'json'], { env: lowered });
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as DatasetRow[];
    expect(rows.find((row) => row.source === TEST_SOURCE && row.dataset === 'access_requests')).toMatchObject({
      state: 'ok',
      lastError: null,
    });
    expectCappedRefused(rows);

    const listed = await runInProcess(['source', 'list', '--format', 'json'], { env: lowered });
    const sources = JSON.parse(listed.stdout) as {
      name: string;
      datasets: { dataset: string; state: string; last_error_message: string | null }[];
    }[];
    const cappedDatasets = sources.find((source) => source.name === CAPPED)?.datasets ?? [];
    expect(cappedDatasets.map((row) => row.dataset)).toContain('access_requests');
    for (const row of cappedDatasets) {
      expect(row.state).toBe('failed');
      expect(row.last_error_message).toContain(WHAT_IT_GIVES);
    }
    const table = await runInProcess(['source', 'list'], { env: lowered });
    expect(table.stdout).toMatch(/Capped account .*access_requests: failed \(CONFIG_INVALID\)/);
  });

  it('serve keeps collecting the other source and shows the capped one as failed in GET /api/sources and its log', async () => {
    const user = await runInProcess(['user', 'add', 'ana', '--role', 'analyst'], {
      env: setup.env,
      input: `${PASSWORD}\n`,
    });
    expect(user.code, user.stderr).toBe(0);
    const key = (await runInProcess(['apikey', 'create', '--user', 'ana'], { env: setup.env })).stdout.trim();
    const startedAt = Date.now();
    const served = serve(['--port', '0'], { ...lowered, ZEROTRAIL_COLLECT__INTERVAL_SECS: '1' });
    try {
      const base = await served.url;
      expect(base, served.stderr()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      let rows: (DatasetRow & { readonly lastSuccessAt: string | null })[] = [];
      const collectedSinceStart = (row: { readonly lastSuccessAt: string | null } | undefined): boolean =>
        row?.lastSuccessAt != null && Date.parse(row.lastSuccessAt) >= startedAt;
      // The health figures are cached for a few seconds, so this may take a poll or two past the collection.
      await waitFor(
        'the other source to be collected by serve while the capped one is reported failed',
        async () => {
          const res = await fetch(`${base}/api/sources`, { headers: { authorization: `Bearer ${key}` } });
          expect(res.status).toBe(200);
          const body = (await res.json()) as { sources: { datasets: typeof rows }[] };
          rows = body.sources.flatMap((source) => source.datasets);
          const capped = rows.filter((row) => row.source === CAPPED);
          const other = rows.find((row) => row.source === TEST_SOURCE && row.dataset === 'access_requests');
          return capped.length > 0 && capped.every((row) => row.state === 'failed') && collectedSinceStart(other);
        },
        { timeoutMs: 40_000, pollMs: 500 },
      );
      expectCappedRefused(rows);
      expect(rows.find((row) => row.source === TEST_SOURCE && row.dataset === 'groups')?.state).toBe('ok');
      expect(await storedRawRecords(setup.env)).toHaveLength(EVENTS);
      expect(served.stderr()).toMatch(
        /"jobId":"Capped account\/access_requests".*"code":"CONFIG_INVALID".*"msg":"Dataset collection failed; tried again later"/,
      );
      expect(served.stderr()).toContain(WHAT_IT_GIVES);
      expect(served.stderr()).not.toContain('Collection stopped; it restarts');
    } finally {
      served.stop();
    }
    expect(await served.exit).toBe(0);
  });
});
