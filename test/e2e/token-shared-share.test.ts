import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const HOUR_MS = 3_600_000;

describe('sources that share one API token but ask for different rate shares', () => {
  let setup: CollectorEnv;
  let env: Record<string, string>;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector(
      {
        seed: 21,
        traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: 300 },
        // Cloudflare's side of the token: 3 requests a second. More than that is answered 429.
        rateLimit: { requests: 3, windowSecs: 1 },
      },
      false,
    );
    // zerotrail believes the token may make 20 a second: the 0.1 share keeps it to 2, the share of 1 would not.
    env = { ...setup.env, ZEROTRAIL_CF_RATE_LIMIT: '20/1' };
    for (const [name, share] of [
      ['a-slow', '0.1'],
      ['b-fast', '1'],
    ] as const) {
      const added = await runInProcess(
        [
          'source',
          'add',
          '--name',
          name,
          '--account-id',
          setup.simulator.accountId,
          '--token-env',
          'CF_TOKEN',
          '--no-verify',
          '--rate-share',
          share,
        ],
        { env },
      );
      expect(added.code, added.stderr).toBe(0);
    }
  });
  afterAll(async () => setup.cleanup());

  it('holds each of them, in any run, to the smallest share, and says so', async () => {
    const result = await runInProcess(['collect', '--once', '--source', 'b-fast', '--backfill-days', '1'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      'notice: a-slow, b-fast use one API token but ask for rate shares 0.1, 1; Cloudflare limits the token as a ' +
        'whole, so each is held to 0.1, the smallest.',
    );
    const answered = setup.simulator.requestLog();
    expect(answered.length).toBeGreaterThan(5);
    expect(answered.filter((entry) => entry.status === 429)).toEqual([]);
  }, 60_000);
});
