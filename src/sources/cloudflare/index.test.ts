import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { INVENTORY_KINDS } from '../../core/inventory.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { Secret } from '../../core/secret.js';
import type { Source } from '../source.js';
import { startSimulator, type Simulator } from '../../simulator/simulator.js';
import { tokenFingerprint } from './client.js';
import { parseCloudflareConfig } from './config.js';
import { CLOUDFLARE_DATASETS, type CloudflareDatasetId } from './datasets/catalogue.js';
import { cloudflareZeroTrustFactory } from './index.js';
import { RateBudget } from './rate-budget.js';

const NOW = Date.parse('2026-05-05T10:00:00.000Z');
const ACCOUNT_ID = '00112233445566778899aabbccddeeff';

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.stop();
  simulator = undefined;
});

function context(clock = new ManualClock(NOW)) {
  return { logger: silentLogger(), clock, metrics: new Metrics(), signal: new AbortController().signal };
}

describe('cloudflareZeroTrustFactory', () => {
  it('applies the documented defaults', () => {
    const config = parseCloudflareConfig({ name: 'corp', accountId: ACCOUNT_ID, token: 'plain-token-value' });
    expect(config).toMatchObject({
      baseUrl: 'https://api.cloudflare.com/client/v4',
      pageSize: 1000,
      lookbackMs: 300_000,
      timeoutMs: 30_000,
      rateLimit: { requests: 1200, windowSecs: 300 },
      rateShare: 0.5,
    });
    expect(config.token).toBeInstanceOf(Secret);
    expect(JSON.stringify(config)).not.toContain('plain-token-value');
  });

  it('raises SOURCE_ACCOUNT_ID_INVALID for a bad Account ID and lists every other problem', () => {
    const failureOf = (input: unknown): AppError => {
      try {
        parseCloudflareConfig(input);
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
      throw new Error('expected the config to be rejected');
    };
    const badId = failureOf({ name: 'corp', accountId: 'not-an-id', token: 't' });
    expect(badId.code).toBe('SOURCE_ACCOUNT_ID_INVALID');
    expect(badId.message).toContain('32 hexadecimal');
    const many = failureOf({ name: 'corp', accountId: ACCOUNT_ID, token: 't', pageSize: 5000, rateShare: 0, extra: 1 });
    expect(many.code).toBe('CONFIG_INVALID');
    expect(many.message).toMatch(/pageSize.*rateShare/s);
    expect(many.message).toContain('extra');
  });

  it('accepts a subset of datasets and refuses unknown or repeated ones', () => {
    const base = { name: 'corp', accountId: ACCOUNT_ID, token: 't' };
    expect(parseCloudflareConfig({ ...base, datasets: ['access_requests', 'devices'] }).datasets).toEqual([
      'access_requests',
      'devices',
    ]);
    expect(parseCloudflareConfig(base).datasets).toBeUndefined();
    expect(() => parseCloudflareConfig({ ...base, datasets: ['gateway_dns'] })).toThrow('datasets');
    expect(() => parseCloudflareConfig({ ...base, datasets: ['groups', 'groups'] })).toThrow('twice');
    expect(() => parseCloudflareConfig({ ...base, datasets: [] })).toThrow('datasets');
  });

  it('builds every dataset of the catalogue, logs and inventories apart, or only the configured ones', () => {
    const config = parseCloudflareConfig({
      name: 'corp',
      accountId: ACCOUNT_ID,
      token: 'every-dataset-token',
      baseUrl: 'http://127.0.0.1:1/client/v4',
    });
    const all = cloudflareZeroTrustFactory.create(config, context());
    expect(all.logs.map((s) => s.dataset)).toEqual(['access_requests', 'scim_updates', 'audit_logs']);
    expect(all.inventories.map((s) => s.dataset)).toEqual([
      'access_users',
      'organization',
      'identity_providers',
      'groups',
      'gateway',
      'devices',
      'apps',
      'policies',
    ]);
    for (const source of [...all.logs, ...all.inventories]) {
      expect(CLOUDFLARE_DATASETS[source.dataset as CloudflareDatasetId].kind).toBe(
        all.logs.includes(source as Source) ? 'log' : 'inventory',
      );
    }
    expect(all.inventories.flatMap((s) => s.kinds).sort()).toEqual([...INVENTORY_KINDS].sort());
    const some = cloudflareZeroTrustFactory.create({ ...config, datasets: ['devices', 'audit_logs'] }, context());
    expect(some.logs.map((s) => s.dataset)).toEqual(['audit_logs']);
    expect(some.inventories.map((s) => s.dataset)).toEqual(['devices']);
  });

  it('creates the access_requests source without touching the network, sharing one budget per token', () => {
    const token = new Secret('factory-shared-budget-token');
    const config = parseCloudflareConfig({
      name: 'corp',
      accountId: ACCOUNT_ID,
      token,
      baseUrl: 'http://127.0.0.1:1/client/v4',
      rateShare: 0.25,
    });
    const clock = new ManualClock(NOW);
    const { logs } = cloudflareZeroTrustFactory.create(config, context(clock));
    expect(logs.map((s) => s.dataset)).toContain('access_requests');
    // The budget for this token (on this clock) exists now, sized by the first user's share: 1200 × 0.25.
    const budget = RateBudget.forToken(tokenFingerprint(token), { requests: 10, windowSecs: 1, share: 1, clock });
    expect(budget.capacity).toBe(300);
  });

  it('collects from the simulator end to end', async () => {
    const clock = new ManualClock(NOW);
    const sim = await startSimulator({
      clock,
      traffic: { kind: 'fixed', fromMs: NOW - 3_600_000, toMs: NOW - 60_000, count: 250 },
    });
    simulator = sim;
    const config = parseCloudflareConfig({
      name: 'sim',
      accountId: sim.accountId,
      token: sim.token,
      baseUrl: sim.baseUrl,
      pageSize: 100,
    });
    const datasets = cloudflareZeroTrustFactory.create(config, context(clock));
    const source = datasets.logs.find((s) => s.dataset === 'access_requests');
    if (source === undefined) throw new Error('no source');
    await source.start();
    let records = 0;
    for await (const page of source.pull(
      source.initialCursor({ backfillFromMs: NOW - 7_200_000 }),
      new AbortController().signal,
    )) {
      records += page.records.length;
    }
    await source.stop();
    expect(records).toBe(250);
    // The default token holds the three base permissions: every required inventory reads.
    for (const inventory of datasets.inventories) {
      if (!CLOUDFLARE_DATASETS[inventory.dataset as CloudflareDatasetId].required) continue;
      const entities = await inventory.snapshot(new AbortController().signal);
      expect(entities.length, inventory.dataset).toBeGreaterThan(0);
    }
  });
});
