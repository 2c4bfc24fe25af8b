import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { DEFAULT_PERMISSIONS, PERMISSIONS, type Simulator } from '../../simulator/simulator.js';
import { validateRequest } from '../../../test/helpers/openapi.js';
import { simulatorClient, trackedSimulators } from '../../../test/helpers/simulators.js';
import type { Source, SourceCursor } from '../source.js';
import type { CloudflareClient } from './client.js';
import { AuditLogsSource, type AuditLogsCursor } from './datasets/audit-logs.js';
import { ScimUpdatesSource } from './datasets/scim-updates.js';

const NOW = Date.parse('2026-03-04T15:00:00.000Z');
const MINUTE = 60_000;
const DAY = 86_400_000;
const LOOKBACK = 5 * MINUTE;
const TOKEN = 'adminLogsReadToken00000000000000000000';

const start = trackedSimulators(() => ({
  clock: new ManualClock(NOW),
  seed: 5,
  traffic: { kind: 'fixed', fromMs: NOW - DAY, toMs: NOW, count: 10 },
  adminTraffic: { historyDays: 4, scimUpdatesPerDay: 150, auditEntriesPerDay: 150 },
  tokens: [
    {
      value: TOKEN,
      permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.accessScimLogs, PERMISSIONS.accountSettings],
    },
  ],
}));

function clientFor(sim: Simulator, clock: ManualClock, metrics = new Metrics(), token = TOKEN): CloudflareClient {
  return simulatorClient(sim, { clock, metrics, token });
}

// Same records, same values; the API and the simulator's own listing may order keys differently.
function canonical(items: readonly unknown[]): string[] {
  const sortKeys = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sortKeys)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => [k, sortKeys(v)]),
          )
        : value;
  return items.map((item) => JSON.stringify(sortKeys(item))).sort();
}

async function drain(
  source: Source,
  cursor: SourceCursor,
): Promise<{ records: unknown[]; cursor: SourceCursor; pages: number }> {
  const records: unknown[] = [];
  let last = cursor;
  let pages = 0;
  for await (const page of source.pull(cursor, new AbortController().signal)) {
    records.push(...page.records);
    last = page.nextCursor;
    pages++;
  }
  return { records, cursor: last, pages };
}

// spec-2024 documents no query parameters on the identity provider list; `page` and `per_page` come from the
// current API reference (API-NOTES §2.5), so only those two may be reported as unknown.
const UNDOCUMENTED_IN_SPEC_2024 = /^unknown query parameter (page|per_page)$/;

function expectValidRequests(sim: Simulator): void {
  for (const entry of sim.requestLog()) {
    const url = `${entry.path}?${entry.query}`;
    expect({
      url,
      problems: validateRequest(entry.method, url).filter((p) => !UNDOCUMENTED_IN_SPEC_2024.test(p)),
    }).toEqual({
      url,
      problems: [],
    });
  }
}

describe('ScimUpdatesSource against the simulator', () => {
  it('collects every SCIM update of a backfill once, across pages, with valid requests', async () => {
    const clock = new ManualClock(NOW);
    const sim = await start({ clock });
    const source = new ScimUpdatesSource({
      client: clientFor(sim, clock),
      clock,
      logger: silentLogger(),
      pageSize: 50,
      lookbackMs: LOOKBACK,
    });
    const from = NOW - 3 * DAY;
    const { records, pages } = await drain(source, source.initialCursor({ backfillFromMs: from }));
    // The first pull starts at the backfill point, never a lookback before it; until (now) is inclusive.
    const expected = sim.scimUpdatesBetween(from, NOW + 1);
    expect(expected.length).toBeGreaterThan(200);
    expect(canonical(records)).toEqual(canonical(expected));
    expect(pages).toBeGreaterThan(4);
    expect(sim.requestLog().every((entry) => entry.status === 200)).toBe(true);
    expectValidRequests(sim);
  });
});

describe('a revoked token', () => {
  it('is reported as such, with the permissions a new token needs for the dataset, not those of one request', async () => {
    const clock = new ManualClock(NOW);
    const sim = await start({ clock });
    const revoked = 'revokedAdminLogsToken0000000000000000000';
    const scim = new ScimUpdatesSource({
      client: clientFor(sim, clock, new Metrics(), revoked),
      clock,
      logger: silentLogger(),
      pageSize: 50,
      lookbackMs: LOOKBACK,
    });
    const audit = new AuditLogsSource({
      client: clientFor(sim, clock, new Metrics(), revoked),
      clock,
      logger: silentLogger(),
      pageSize: 50,
      lookbackMs: LOOKBACK,
    });
    const base = `"${PERMISSIONS.accessAuditLogs}", "${PERMISSIONS.accessOrganizations}" and "${PERMISSIONS.zeroTrust}"`;
    // The same advice from every dataset, so the datasets failing on one revoked token are reported together.
    const optional = `, and for the optional datasets "${PERMISSIONS.accessAppsAndPolicies}" (apps, policies), "${PERMISSIONS.accessScimLogs}" (scim_updates) and "${PERMISSIONS.accountSettings}" (audit_logs).`;
    for (const [source, extra] of [
      [scim, optional],
      [audit, optional],
    ] as const) {
      const failure = await drain(source, source.initialCursor({ backfillFromMs: NOW - DAY })).then(
        () => undefined,
        (error: unknown) => error as { code?: string; message?: string },
      );
      expect(failure?.code).toBe('SOURCE_AUTH_FAILED');
      expect(failure?.message).toContain('invalid, expired or revoked');
      expect(failure?.message).toContain('this is not a missing permission');
      expect(failure?.message).toContain(`with the read permissions zerotrail needs: ${base}${extra}`);
    }
    // The SCIM pull failed on its first request, the identity provider list.
    expect(sim.requestLog()[0]?.path).toMatch(/\/access\/identity_providers$/);
  });
});

describe('AuditLogsSource against the simulator', () => {
  it('collects every v2 entry of a backfill once, then what happened since, riding out faults', async () => {
    const clock = new ManualClock(NOW);
    const metrics = new Metrics();
    const sim = await start({
      clock,
      faults: {
        rateLimit: { routes: ['audit-logs-v2'], everyNth: 4, maxTimes: 1, retryAfterSecs: 0 },
        serverError: { routes: ['audit-logs-v2'], everyNth: 5, maxTimes: 1 },
        truncatedJson: { routes: ['audit-logs-v2'], everyNth: 7, maxTimes: 1 },
      },
    });
    const source = new AuditLogsSource({
      client: clientFor(sim, clock, metrics),
      clock,
      logger: silentLogger(),
      pageSize: 40,
      lookbackMs: LOOKBACK,
    });
    const from = NOW - 3 * DAY;
    const first = await drain(source, source.initialCursor({ backfillFromMs: from }));
    // before (now) is exclusive.
    const expected = sim.auditLogsBetween(from, NOW, 'v2');
    expect(expected.length).toBeGreaterThan(200);
    expect(canonical(first.records)).toEqual(canonical(expected));
    expect((first.cursor as AuditLogsCursor).api).toBe('v2');
    expect(metrics.value('source_requests_retried_total', { code: 'SOURCE_RATE_LIMITED' })).toBe(1);
    expect(metrics.value('source_requests_retried_total', { code: 'SOURCE_UNAVAILABLE' })).toBe(1);

    // The scheduled changes in the first minutes after the start appear on the next pull.
    clock.advance(30 * MINUTE);
    const second = await drain(source, first.cursor);
    const ids = new Set([...first.records, ...second.records].map((r) => (r as { id: string }).id));
    const all = sim.auditLogsBetween(from, NOW + 30 * MINUTE, 'v2').map((r) => String(r['id']));
    expect(all.length).toBeGreaterThan(expected.length);
    expect([...ids].sort()).toEqual([...all].sort());
    expectValidRequests(sim);
  });

  it('resumes a v2 window from the committed API cursor after a crash', async () => {
    const clock = new ManualClock(NOW);
    const sim = await start({ clock });
    const source = new AuditLogsSource({
      client: clientFor(sim, clock),
      clock,
      logger: silentLogger(),
      pageSize: 25,
      lookbackMs: LOOKBACK,
    });
    const from = NOW - 2 * DAY;
    const received: unknown[] = [];
    let committed: SourceCursor | undefined;
    let pages = 0;
    for await (const page of source.pull(
      source.initialCursor({ backfillFromMs: from }),
      new AbortController().signal,
    )) {
      received.push(...page.records);
      committed = page.nextCursor;
      if (++pages === 3) break;
    }
    expect(committed).toMatchObject({ api: 'v2', before: new Date(NOW).toISOString() });
    expect((committed as AuditLogsCursor & { cursor?: string }).cursor).toBeDefined();
    const rest = await drain(source, committed ?? {});
    received.push(...rest.records);
    expect(canonical(received)).toEqual(canonical(sim.auditLogsBetween(from, NOW, 'v2')));
  });

  it('keeps reading v1 once its cursor says so', async () => {
    const clock = new ManualClock(NOW);
    const sim = await start({ clock });
    const source = new AuditLogsSource({
      client: clientFor(sim, clock),
      clock,
      logger: silentLogger(),
      pageSize: 30,
      lookbackMs: LOOKBACK,
    });
    const from = NOW - 2 * DAY;
    const v1Cursor = {
      api: 'v1',
      since: new Date(from).toISOString(),
      page: 1,
      seen: [],
      scannedAt: new Date(from).toISOString(),
    };
    const { records, cursor } = await drain(source, v1Cursor);
    // A cursor written by an earlier pull (no backfill floor) rereads the lookback before it.
    expect(canonical(records)).toEqual(canonical(sim.auditLogsBetween(from - LOOKBACK, NOW, 'v1')));
    expect((cursor as AuditLogsCursor).api).toBe('v1');
    expect(sim.requestLog().every((entry) => entry.path.endsWith('/audit_logs'))).toBe(true);
    expectValidRequests(sim);
  });
});
