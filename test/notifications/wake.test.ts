import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openApp, startForwarder, type App, type RunningForwarder } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { Forwarder } from '../../src/pipeline/forwarder.js';
import { createSink } from '../../src/sinks/sink.js';
import { webhookTargetSchema } from '../../src/sinks/webhook/config.js';
import type { NotifyQueue } from '../../src/store/notify-queue.js';
import { SqliteNotifyQueue } from '../../src/store/sqlite/notify-queue.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notify-receivers.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { deniedLogin } from '../helpers/events.js';
import { bruteForceFiring } from '../helpers/firings.js';
import { sleep, waitFor } from '../helpers/wait.js';

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const MIN = 60_000;
// The idle poll is far longer than any test runs, so only a wake-up can deliver within the test.
const HOUR_POLL = { pollMs: 3_600_000 };

// Polled every 20 ms: these tests follow deliveries and wake-ups that take milliseconds.
const until = (what: string, check: () => boolean | Promise<boolean>): Promise<void> =>
  waitFor(what, check, { timeoutMs: 10_000, pollMs: 20 });

type Body = { readonly type: string; readonly alert: { readonly id: string; readonly rule_id: string } };

describe('the detector wakes the notification forwarder', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('an alert the detector commits reaches the webhook on the wake-up, while one committed past it waits', async () => {
    const dir = makeTempDir('notify-wake');
    cleanups.push(() => dir.remove());
    const hook: WebhookReceiver = await startWebhookReceiver();
    cleanups.push(hook.close);
    writeFileSync(
      join(dir.path, 'config.yaml'),
      ['notify:', '  targets:', '    - type: webhook', '      name: soc', `      url: ${hook.url}/zt`, ''].join('\n'),
    );
    const clock = new ManualClock(T0 + 90 * MIN);
    const app: App = await openApp(loadConfig({ env: {}, dataDir: dir.path }), { logger: silentLogger(), clock });
    cleanups.push(() => app.close());
    const running: RunningForwarder | undefined = await startForwarder(app, new AbortController().signal, HOUR_POLL);
    if (running === undefined) throw new Error('the webhook target did not start');
    cleanups.push(() => running.close());
    await until('the target to find the queue empty', () => running.forwarder.status()[0]?.state === 'idle');

    // An alert committed without the detector (as another process would) waits for the hourly poll.
    const control = await app.store.commitDetections({
      offsetName: 'elsewhere',
      fromOffset: 0,
      toOffset: 1,
      state: [],
      firings: [bruteForceFiring('bob@example.com', 1, T0)],
    });
    expect(control).toMatchObject({ committed: true, created: 1 });
    await sleep(300);
    expect(hook.bodies).toEqual([]);

    // Collection stores a batch and notifies the detector; its commit wakes the forwarder, which then sends
    // everything queued, the waiting alert first.
    await app.store.append(
      Array.from({ length: 14 }, (_, n) => deniedLogin(n, T0)),
      { id: 'cf/access_requests', value: { n: 14 } },
    );
    app.detector.notify();
    await until('both alerts at the webhook', () => hook.bodies.length >= 2);
    const bodies = hook.bodies as Body[];
    const alerts = await app.store.listAlerts({ limit: 10 });
    const byUser = (user: string): string | undefined => alerts.find((alert) => alert.entity.user === user)?.id;
    expect(bodies.map((body) => [body.type, body.alert.id])).toEqual([
      ['alert.created', byUser('bob@example.com')],
      ['alert.created', byUser('alice@example.com')],
    ]);
    // The receiver holds the second body before the forwarder has read its response, so the count follows it.
    await until('the target to record both deliveries', () => {
      const status = running.forwarder.status()[0];
      return status?.delivered === 2 && status.state === 'idle';
    });
  });

  it('a wake-up that comes while the target reads the queue is not lost', async () => {
    const dir = makeTempDir('notify-wake-race');
    cleanups.push(() => dir.remove());
    const path = join(dir.path, 'zerotrail.db');
    const store = await SqliteStore.open({ path, logger: silentLogger() });
    cleanups.push(() => store.close());
    await store.migrate();
    const real = await SqliteNotifyQueue.open({ path });
    cleanups.push(() => real.close());
    const hook = await startWebhookReceiver();
    cleanups.push(hook.close);

    // The real queue, with the next read held after it has read (so it misses what is committed meanwhile).
    let hold: { entered: () => void; released: Promise<void> } | null = null;
    const queue = new Proxy(real, {
      get(target, property) {
        if (property === 'noticesAfter') {
          return async (afterSeq: number, limit: number) => {
            const notices = await target.noticesAfter(afterSeq, limit);
            const held = hold;
            hold = null;
            if (held !== null) {
              held.entered();
              await held.released;
            }
            return notices;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as NotifyQueue;

    const clock = new ManualClock(T0 + 90 * MIN);
    const metrics = new Metrics();
    const ctx = { logger: silentLogger(), clock, metrics, signal: new AbortController().signal };
    const config = webhookTargetSchema.parse({ type: 'webhook', name: 'soc', url: `${hook.url}/zt` });
    const forwarder = new Forwarder(
      { queue, logger: silentLogger(), clock, metrics },
      [{ sink: createSink(config, ctx), minSeverity: config.minSeverity }],
      HOUR_POLL,
    );
    forwarder.start();
    cleanups.push(() => forwarder.stop());
    await until('the target to find the queue empty', () => forwarder.status()[0]?.state === 'idle');

    let release = (): void => undefined;
    const entered = new Promise<void>((resolve) => {
      hold = { entered: resolve, released: new Promise<void>((done) => (release = done)) };
    });
    forwarder.poke();
    await entered;
    // The read found the queue empty and has not returned yet; now an alert is committed and the target woken.
    await store.commitDetections({
      offsetName: 'rules',
      fromOffset: 0,
      toOffset: 1,
      state: [],
      firings: [bruteForceFiring('a', 1, T0)],
    });
    forwarder.poke();
    release();
    await until('the alert at the webhook', () => hook.bodies.length === 1);
    expect((hook.bodies as Body[])[0]?.alert.rule_id).toBe('zt-brute-force-user');
  });
});
