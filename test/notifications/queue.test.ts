import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { AlertFiring } from '../../src/store/detection-store.js';
import type { NotifyQueue } from '../../src/store/notify-queue.js';
import { PostgresNotifyQueue } from '../../src/store/postgres/notify-queue.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { SqliteNotifyQueue } from '../../src/store/sqlite/notify-queue.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/store.js';
import { ensurePostgres, TestSchemas } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const MIN = 60_000;
const schemas = new TestSchemas('notify');

function firing(user: string, evidence: number, overrides: Partial<AlertFiring> = {}): AlertFiring {
  return {
    ruleId: 'zt-brute-force-user',
    title: 'Brute force against a user',
    severity: 'medium',
    technique: 'T1110.001',
    entityKey: user,
    entity: { user, ip: '192.0.2.7', app: null },
    summary: `${user} was denied ${evidence} times`,
    evidence: Array.from({ length: evidence }, (_, n) => ({ eventId: `${user}-ev-${n}`, eventTime: T0 + n * MIN })),
    details: {},
    suppressMs: 60 * MIN,
    ...overrides,
  };
}

interface Backend {
  readonly name: string;
  open(): Promise<{ store: Store; queue: NotifyQueue; cleanup(): Promise<void> }>;
}

const BACKENDS: readonly Backend[] = [
  {
    name: 'SQLite',
    open: async () => {
      const dir = makeTempDir('notify-queue');
      const path = join(dir.path, 'zerotrail.db');
      const store = await SqliteStore.open({ path, logger: silentLogger() });
      await store.migrate();
      const queue = await SqliteNotifyQueue.open({ path });
      return {
        store,
        queue,
        cleanup: async () => {
          await queue.close();
          await store.close();
          dir.remove();
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const url = schemas.url();
      const store = await PostgresStore.open({ url });
      await store.migrate();
      const queue = await PostgresNotifyQueue.open({ url });
      return {
        store,
        queue,
        cleanup: async () => {
          await queue.close();
          await store.close();
        },
      };
    },
  },
];

beforeAll(async () => {
  await ensurePostgres();
});

afterAll(async () => {
  await schemas.dropAll();
});

describe.each(BACKENDS)('notification queue on $name', (backend) => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  let offset = 0;

  beforeEach(async () => {
    opened = await backend.open();
    offset = 0;
  });

  afterEach(async () => {
    await opened.cleanup();
  });

  async function raise(...firings: AlertFiring[]): Promise<void> {
    const result = await opened.store.commitDetections({
      offsetName: 'test',
      fromOffset: offset,
      toOffset: offset + 1,
      state: [],
      firings,
    });
    expect(result.committed).toBe(true);
    offset += 1;
  }

  it('queues a notice with the alert in its commit, and again only on escalation or at a power of ten', async () => {
    const { queue } = opened;
    expect(await queue.openOffset('soc', T0)).toBe(0);
    await raise(firing('alice@example.com', 3));
    await raise(firing('alice@example.com', 9));
    await raise(firing('alice@example.com', 10));
    await raise(firing('alice@example.com', 11, { severity: 'high' }));
    await raise(firing('alice@example.com', 12));
    const notices = await queue.noticesAfter(0, 100);
    expect(notices.map((notice) => [notice.seq, notice.reason, notice.severity])).toEqual([
      [1, 'created', 'medium'],
      [2, 'grew', 'medium'],
      [3, 'escalated', 'high'],
    ]);
    // Each notice reads the alert as it stands now.
    expect(notices[0]?.alert).toMatchObject({ count: 12, severity: 'high', entity: { user: 'alice@example.com' } });
    expect(await queue.noticesAfter(2, 100)).toHaveLength(1);
  });

  it('keeps an offset and a record of refused notices per target; a new target starts at the end', async () => {
    const { queue } = opened;
    await queue.openOffset('soc', T0);
    await raise(firing('bob@example.com', 3), firing('carol@example.com', 3));
    expect(await queue.pending('soc')).toBe(2);
    await queue.saveOffset('soc', 1, T0);
    await queue.recordFailure({
      target: 'soc',
      seq: 2,
      alertId: 'al_x',
      code: 'SINK_REJECTED',
      message: 'HTTP 422',
      failedAt: T0,
    });
    expect(await queue.pending('soc')).toBe(0);
    expect(await queue.failures()).toEqual([
      { target: 'soc', seq: 2, alertId: 'al_x', code: 'SINK_REJECTED', message: 'HTTP 422', failedAt: T0 },
    ]);
    // An offset never moves back, and a target added now does not receive the past alerts.
    await queue.saveOffset('soc', 1, T0);
    expect(await queue.openOffset('soc', T0)).toBe(2);
    expect(await queue.openOffset('later', T0)).toBe(2);
    expect(await queue.pending('later')).toBe(0);
  });

  it("counts a target's queue at its threshold, with the oldest notice and the refused ones", async () => {
    const { queue } = opened;
    expect(await queue.queueDepth('soc', ['low', 'medium', 'high', 'critical'])).toEqual({
      offset: null,
      pending: 0,
      oldestQueuedAt: null,
      refused: 0,
    });
    await queue.openOffset('soc', T0);
    await raise(firing('dave@example.com', 3));
    await raise(firing('erin@example.com', 3, { severity: 'high' }));
    await raise(firing('frank@example.com', 3, { severity: 'low' }));
    const all = await queue.queueDepth('soc', ['low', 'medium', 'high', 'critical']);
    expect(all).toMatchObject({ offset: 0, pending: 3, refused: 0 });
    expect(all.oldestQueuedAt).toEqual(expect.any(Number));
    expect(await queue.queueDepth('soc', ['high', 'critical'])).toMatchObject({ pending: 1 });
    await queue.recordFailure({
      target: 'soc',
      seq: 1,
      alertId: 'al_y',
      code: 'SINK_REJECTED',
      message: 'HTTP 422',
      failedAt: T0,
    });
    expect(await queue.queueDepth('soc', ['low', 'medium', 'high', 'critical'])).toMatchObject({
      offset: 1,
      pending: 2,
      refused: 1,
    });
  });

  it('keeps the last status each target wrote, replacing the one before', async () => {
    const { queue } = opened;
    const status = {
      target: 'siem',
      type: 'syslog',
      state: 'retrying' as const,
      delivered: 12,
      retries: 3,
      attempt: 2,
      lastSuccessAt: T0,
      lastError: { code: 'SINK_UNREACHABLE', message: 'The syslog collector refused the connection.', at: T0 + MIN },
      nextAttemptAt: T0 + 2 * MIN,
      host: 'collector-1 pid 42',
      updatedAt: T0 + MIN,
    };
    await queue.saveTargetStatus(status);
    await queue.saveTargetStatus({ ...status, target: 'soc', type: 'webhook', state: 'idle', lastError: null });
    expect(await queue.targetStatuses()).toEqual([
      status,
      { ...status, target: 'soc', type: 'webhook', state: 'idle', lastError: null },
    ]);
    const delivered = { ...status, state: 'idle' as const, delivered: 13, attempt: 0, nextAttemptAt: null };
    await queue.saveTargetStatus(delivered);
    expect((await queue.targetStatuses())[0]).toEqual(delivered);
  });
});
