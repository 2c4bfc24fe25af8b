import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNotifyQueue } from '../../app.js';
import type { AlertFiring } from '../../store/detection-store.js';
import { login, startServerFixture, type ServerFixture } from '../server-fixture.suite.js';

const MINUTE = 60_000;
const HOOK_URL = 'https://hooks.example.com/zerotrail-secret-path';

function firing(user: string, severity: AlertFiring['severity'], at: number): AlertFiring {
  return {
    ruleId: 'zt-brute-force-user',
    title: 'Brute force against a user',
    severity,
    technique: 'T1110.001',
    entityKey: user,
    entity: { user, ip: '203.0.113.7', app: null },
    summary: `${user} was denied 12 times`,
    evidence: [{ eventId: `${user}-1`, eventTime: at }],
    details: {},
    suppressMs: 60 * MINUTE,
  };
}

describe('notification target status over HTTP', () => {
  let fixture: ServerFixture;
  let configDir: string;

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), 'zerotrail-notify-config-'));
    const configFile = join(configDir, 'config.yaml');
    writeFileSync(
      configFile,
      [
        'notify:',
        '  targets:',
        '    - type: webhook',
        '      name: soc',
        `      url: ${HOOK_URL}`,
        '      min_severity: high',
        '    - type: syslog',
        '      name: siem',
        '      host: siem.example.com',
        '',
      ].join('\n'),
    );
    fixture = await startServerFixture({ env: { ZEROTRAIL_CONFIG: configFile } });
    const now = fixture.clock.now();
    // A forwarder elsewhere opened soc's place in the queue, retried, and wrote its status; then alerts came in.
    const queue = await openNotifyQueue(fixture.app);
    try {
      await queue.openOffset('soc', now - 10 * MINUTE);
      await queue.saveTargetStatus({
        target: 'soc',
        type: 'webhook',
        state: 'retrying',
        delivered: 7,
        retries: 4,
        attempt: 3,
        lastSuccessAt: now - 9 * MINUTE,
        lastError: {
          code: 'SINK_UNAVAILABLE',
          message: 'Notification target soc answered HTTP 503.',
          at: now - MINUTE,
        },
        nextAttemptAt: now + MINUTE,
        host: 'collector-1 pid 4242',
        updatedAt: now - MINUTE,
      });
    } finally {
      await queue.close();
    }
    for (const [n, severity] of (['high', 'medium', 'critical'] as const).entries()) {
      await fixture.app.store.commitDetections({
        offsetName: 'test',
        fromOffset: n,
        toOffset: n + 1,
        state: [],
        firings: [firing(`user${n}@example.com`, severity, now - 5 * MINUTE)],
      });
    }
  });
  afterAll(async () => {
    await fixture.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('shows an analyst each target: state, queue at its threshold, deliveries, last success, last error, retries', async () => {
    const session = await login(fixture.server, 'analyst');
    const res = await fixture.server.inject({
      method: 'GET',
      url: '/api/notify/status',
      headers: { cookie: session.cookie },
    });
    expect(res.statusCode, res.body).toBe(200);
    const now = fixture.clock.now();
    const { targets } = res.json<{ targets: Record<string, unknown>[] }>();
    expect(targets).toEqual([
      {
        target: 'soc',
        type: 'webhook',
        configured: true,
        minSeverity: 'high',
        state: 'retrying',
        queued: 2,
        oldestQueuedAt: targets[0]?.['oldestQueuedAt'],
        offset: 0,
        delivered: 7,
        refused: 0,
        retries: 4,
        attempt: 3,
        lastSuccessAt: new Date(now - 9 * MINUTE).toISOString(),
        lastError: {
          code: 'SINK_UNAVAILABLE',
          message: 'Notification target soc answered HTTP 503.',
          at: new Date(now - MINUTE).toISOString(),
        },
        nextAttemptAt: new Date(now + MINUTE).toISOString(),
        reportedBy: 'collector-1 pid 4242',
        updatedAt: new Date(now - MINUTE).toISOString(),
      },
      expect.objectContaining({ target: 'siem', type: 'syslog', state: 'never_started', queued: 0, offset: null }),
    ]);
    // The target's address and secrets are configuration, never status.
    expect(res.body).not.toContain('hooks.example.com');
    expect(res.body).not.toContain('siem.example.com');
    expect(Date.parse(String(targets[0]?.['oldestQueuedAt']))).toBeGreaterThan(0);
  });

  it('refuses a viewer and a caller without a session', async () => {
    const res = await fixture.server.inject({ method: 'GET', url: '/api/notify/status' });
    expect(res.statusCode).toBe(401);
    const viewer = await login(fixture.server, 'viewer');
    const refused = await fixture.server.inject({
      method: 'GET',
      url: '/api/notify/status',
      headers: { cookie: viewer.cookie },
    });
    expect(refused.statusCode).toBe(403);
  });
});
