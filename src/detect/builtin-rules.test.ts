import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { isRejected, type NormalizedEvent } from '../core/event.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { normalizeAuditLog } from '../normalize/cloudflare/audit-logs.js';
import { deniedAccess } from '../../test/helpers/events.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { loadBuiltinRules } from './builtin-rules.js';
import { Detector } from './detector.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-builtin-rules-'));
let counter = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RULES = loadBuiltinRules();
const T0 = Date.UTC(2026, 10, 22, 5, 30, 0);
const MIN = 60_000;

/** A successful Audit Logs v2 entry, through the real normalizer. */
function audit(
  n: number,
  time: number,
  actor: { email: string; ip: string },
  resource: { id: string; type: string },
  description: string,
): NormalizedEvent {
  const result = normalizeAuditLog(
    {
      id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      action: { time: new Date(time).toISOString(), type: 'create', description, result: 'success' },
      actor: { email: actor.email, ip_address: actor.ip, type: 'user' },
      resource,
    },
    { sourceName: 'cf-main', accountId: '0123456789abcdef0123456789abcdef', dataset: 'audit_logs' },
  );
  if (isRejected(result)) throw new Error(result.reason);
  return result;
}

describe('built-in rules on stored events', () => {
  let store: SqliteStore;
  const clock = new ManualClock(T0 + 86_400_000);
  const deps = () => ({ store, clock, logger: silentLogger(), metrics: new Metrics() });
  const append = (events: readonly NormalizedEvent[]) =>
    store.append(events, { id: 'cf-main/audit_logs', value: { n: counter } });
  const alertsOf = async (ruleId: string) => await store.listAlerts({ ruleId, limit: 100 });

  beforeEach(async () => {
    store = await SqliteStore.open({ path: join(dir, `rules-${counter++}.db`), clock });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('raises one configuration-tampering alert per change, each naming the actor of its own change', async () => {
    const zoe = { email: 'zoe.kim@example.com', ip: '192.0.2.10' };
    const sofia = { email: 'sofia.nakamura@example.com', ip: '198.51.100.11' };
    await append([
      audit(1, T0, zoe, { id: 'idp-1', type: 'access_identity_provider' }, 'Added the identity provider "Google"'),
      audit(2, T0 + 5 * MIN, sofia, { id: 'tok-1', type: 'api_token' }, 'Created API token "sync-1"'),
      audit(3, T0 + 6 * MIN, sofia, { id: 'tok-2', type: 'api_token' }, 'Created API token "sync-2"'),
    ]);
    await new Detector(deps(), RULES).catchUp();
    const alerts = await alertsOf('zt-config-tampering');
    expect(alerts.map((alert) => [alert.summary, alert.entity.user, alert.entity.ip, alert.count]).sort()).toEqual([
      ['Added the identity provider "Google" (audit_logs)', zoe.email, zoe.ip, 1],
      ['Created API token "sync-1" (audit_logs)', sofia.email, sofia.ip, 1],
      ['Created API token "sync-2" (audit_logs)', sofia.email, sofia.ip, 1],
    ]);
  });

  it('gives a brute-force alert that late events grew a summary that does not contradict its count', async () => {
    const denied = (n: number, time: number) => deniedAccess({ time }, n);
    // Twelve denials in 44 seconds, then two that happened a minute earlier arrive late.
    await append(Array.from({ length: 12 }, (_, i) => denied(i + 3, T0 + MIN + i * 4_000)));
    await new Detector(deps(), RULES).catchUp();
    const [first] = await alertsOf('zt-brute-force-user');
    expect(first?.summary).toBe('alice@example.com was denied 12 times from 203.0.113.7 (RU) in 44 seconds');
    await append([denied(1, T0), denied(2, T0 + 10_000)]);
    await new Detector(deps(), RULES).catchUp();
    const [alert, ...others] = await alertsOf('zt-brute-force-user');
    expect(others).toEqual([]);
    expect(alert?.count).toBe(14);
    // The late windows hold fewer events than the alert; the summary says the alert's count beside theirs.
    expect(alert?.summary).toMatch(/^alice@example\.com was denied \d+ times .*; 14 events in this alert$/);
    expect((await store.alertHistory(alert?.id ?? '')).map((entry) => [entry.action, entry.details])).toEqual([
      ['created', { severity: 'high' }],
      ['grew', { from: 12, to: 14, summary: alert?.summary }],
    ]);
  });

  it('names a password-spraying alert after the network alone, not the sprayed user who crossed the threshold', async () => {
    const sprayed = (i: number) =>
      deniedAccess({ time: T0 + i * MIN, user: `user${i}@example.com`, srcIp: `203.0.113.${i}` }, i);
    // Which user crosses the threshold depends on arrival: here one of the four that arrive late.
    await append([4, 5, 6, 7, 8, 9, 10, 11].map(sprayed));
    await new Detector(deps(), RULES).catchUp();
    await append([0, 1, 2, 3].map(sprayed));
    await new Detector(deps(), RULES).catchUp();
    const [alert, ...others] = await alertsOf('zt-password-spraying');
    expect(others).toEqual([]);
    expect(alert?.entity).toEqual({ user: null, ip: '203.0.113.0/24', app: 'wiki.example.com' });
  });
});
