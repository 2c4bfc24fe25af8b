import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { DEFAULT_PERMISSIONS, PERMISSIONS, type Simulator } from '../../simulator/simulator.js';
import { validateRequest } from '../../../test/helpers/openapi.js';
import { simulatorClient, trackedSimulators } from '../../../test/helpers/simulators.js';
import type { SourceCursor } from '../source.js';
import { ScimUpdatesSource } from './datasets/scim-updates.js';

const NOW = Date.parse('2026-03-04T15:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const LOOKBACK = 5 * MINUTE;
const TOKEN = 'scimRemovedIdpReadToken00000000000000000';

const start = trackedSimulators(() => ({
  clock: new ManualClock(NOW),
  seed: 11,
  adminTraffic: { historyDays: 10 },
  tokens: [{ value: TOKEN, permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.accessScimLogs] }],
}));

function sourceFor(sim: Simulator, clock: ManualClock, pageSize: number): ScimUpdatesSource {
  const client = simulatorClient(sim, { clock, token: TOKEN, maxAttempts: 3 });
  return new ScimUpdatesSource({ client, clock, logger: silentLogger(), pageSize, lookbackMs: LOOKBACK });
}

/** Runs one pull, as far as `maxPages` pages when given (a collector stopped after committing that many). */
async function pull(
  source: ScimUpdatesSource,
  cursor: SourceCursor,
  maxPages = Infinity,
): Promise<{ records: Record<string, unknown>[]; cursor: SourceCursor }> {
  const records: Record<string, unknown>[] = [];
  let last = cursor;
  let pages = 0;
  for await (const page of source.pull(cursor, new AbortController().signal)) {
    records.push(...(page.records as Record<string, unknown>[]));
    last = page.nextCursor;
    if (++pages >= maxPages) break;
  }
  return { records, cursor: last };
}

// The whole record, so that two updates differing in any field stay apart.
const keys = (records: readonly Record<string, unknown>[]): string[] =>
  [...new Set(records.map((r) => JSON.stringify(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)))))].sort();

function azureId(sim: Simulator): string {
  const azure = sim.inventory().identityProviders.find((idp) => idp['type'] === 'azureAD');
  if (azure === undefined) throw new Error('the simulated account has no Azure AD identity provider');
  return String(azure['id']);
}

function removeIdentityProvider(sim: Simulator, id: string): void {
  sim.updateInventory((inventory) => ({
    ...inventory,
    identityProviders: inventory.identityProviders.filter((idp) => idp['id'] !== id),
  }));
}

const idpIdsAsked = (sim: Simulator, fromIndex: number): string[][] =>
  sim
    .requestLog()
    .slice(fromIndex)
    .filter((entry) => entry.path.endsWith('/access/logs/scim/updates'))
    .map((entry) => new URLSearchParams(entry.query).getAll('idp_id'));

describe('ScimUpdatesSource when an identity provider is removed', () => {
  it('finishes a 10-day backfill begun before the removal with every update of the removed provider', async () => {
    const clock = new ManualClock(NOW);
    const sim = await start({ clock });
    const azure = azureId(sim);
    const from = NOW - 10 * DAY;
    const expected = sim.scimUpdatesBetween(from, NOW + 1);
    const fromAzure = expected.filter((r) => r['idp_id'] === azure);
    expect(fromAzure.length).toBeGreaterThan(100);

    const source = sourceFor(sim, clock, 100);
    // The collector commits two pages and stops; the provider is deleted before it runs again.
    const first = await pull(source, source.initialCursor({ backfillFromMs: from }), 2);
    removeIdentityProvider(sim, azure);
    clock.advance(MINUTE);
    const rest = await pull(source, first.cursor);

    const collected = [...first.records, ...rest.records];
    expect(collected.filter((r) => r['idp_id'] === azure)).toHaveLength(fromAzure.length);
    expect(keys(collected)).toEqual(keys(sim.scimUpdatesBetween(from, NOW + MINUTE + 1)));
    for (const entry of sim.requestLog().filter((e) => e.path.endsWith('/access/logs/scim/updates')))
      expect(validateRequest(entry.method, `${entry.path}?${entry.query}`)).toEqual([]);
  });

  it('collects what the provider sent after the last pull, then stops asking for it once past its removal', async () => {
    const clock = new ManualClock(NOW);
    const sim = await start({ clock });
    const azure = azureId(sim);
    const from = NOW - 10 * DAY;
    const source = sourceFor(sim, clock, 1000);
    const first = await pull(source, source.initialCursor({ backfillFromMs: from }));

    clock.advance(6 * HOUR);
    const sentSince = sim.scimUpdatesBetween(NOW + 1, clock.now() + 1).filter((r) => r['idp_id'] === azure);
    expect(sentSince.length).toBeGreaterThan(0);
    removeIdentityProvider(sim, azure);
    const second = await pull(source, first.cursor);
    expect(keys(second.records.filter((r) => r['idp_id'] === azure))).toEqual(keys(sentSince));

    // Still asked for while a pull's window (lookback included) reaches back before the removal was noticed…
    clock.advance(6 * HOUR);
    let requestsBefore = sim.requestLog().length;
    const third = await pull(source, second.cursor);
    expect(idpIdsAsked(sim, requestsBefore).every((ids) => ids.includes(azure))).toBe(true);
    // …and no longer once every window starts after it.
    clock.advance(6 * HOUR);
    requestsBefore = sim.requestLog().length;
    await pull(source, third.cursor);
    const asked = idpIdsAsked(sim, requestsBefore);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.some((ids) => ids.includes(azure))).toBe(false);
  });
});
