import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/app.js';
import { runBinary } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const HOUR_MS = 3_600_000;
// The token may make 24 requests per 12-second window (the simulator enforces it as Cloudflare does, answering 429
// past it, in windows from the first request), and zerotrail's share is half: 12 at once, then one a second. One
// catch-up run makes more than 12, and the second starts within the first window.
const LIMIT = { requests: 24, windowSecs: 12 };

/**
 * The share of the token's rate limit holds across processes on one SQLite data directory: a collector started
 * right after another (a restart, a cron run, a crash loop) goes on from the bucket the first one left instead of
 * a full one of its own. src/sources/cloudflare/shared-rate-budget.test.ts shows two connections to one file
 * drawing from one bucket; this shows the collector keeps its bucket there.
 */
describe('the rate budget on SQLite outlives the process', () => {
  let setup: CollectorEnv;
  const now = Date.now();

  beforeAll(async () => {
    setup = await setUpCollector(
      {
        seed: 5,
        rateLimit: LIMIT,
        traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: 50 },
      },
      'unverified',
    );
  });
  afterAll(async () => {
    await setup.cleanup();
  });

  it('leaves the bucket in the database for the next process, drawn down by what this one sent', async () => {
    const env = {
      ...setup.env,
      ZEROTRAIL_CF_RATE_LIMIT: `${LIMIT.requests}/${LIMIT.windowSecs}`,
      ZEROTRAIL_CF_RATE_SHARE: '0.5',
      ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1',
    };
    const first = await runBinary(['collect', '--once'], env);
    expect(first.stderr).toContain('Stored 50 new events');
    expect(first.code).toBe(0);
    // More than the 12 of a window, so the run spent its bucket and waited for it to refill.
    expect(setup.simulator.requestLog().length).toBeGreaterThan(LIMIT.requests / 2);
    const buckets = bucketsOf(setup.dataDir);
    // One bucket for the one token, keyed by its fingerprint (never the token), nearly empty as the run left it: a
    // process started now takes from it instead of from a full bucket of its own.
    expect(buckets).toHaveLength(1);
    expect(buckets[0]?.key).not.toContain(setup.simulator.token);
    expect(buckets[0]?.tokens).toBeLessThan(LIMIT.requests / 2 - 1);
    expect(Date.now() - (buckets[0]?.updatedAt ?? 0)).toBeLessThan(60_000);
    // A second run goes on from it and stays within the share: the API, which allows the whole limit, never
    // has to refuse a request.
    const second = await runBinary(['collect', '--once'], env);
    expect(second.code).toBe(0);
    expect(setup.simulator.requestLog().filter((entry) => entry.status === 429)).toEqual([]);
  }, 120_000);
});

function bucketsOf(dataDir: string): { key: string; tokens: number; updatedAt: number }[] {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT key, tokens, updated_at AS updatedAt FROM rate_buckets').all() as {
      key: string;
      tokens: number;
      updatedAt: number;
    }[];
  } finally {
    db.close();
  }
}
