import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { Forwarder, type ForwarderTarget, type TargetStatus } from '../../src/pipeline/forwarder.js';
import { notifyTargetViews, type NotifyTargetSetting } from '../../src/pipeline/notify-status.js';
import { createSink, type NotifyTargetConfig } from '../../src/sinks/sink.js';
import { syslogTargetSchema } from '../../src/sinks/syslog/config.js';
import { webhookTargetSchema } from '../../src/sinks/webhook/config.js';
import type { AlertFiring } from '../../src/store/detection-store.js';
import { SqliteNotifyQueue } from '../../src/store/sqlite/notify-queue.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { freePort, startSyslogReceiver, startWebhookReceiver } from '../helpers/notify-receivers.js';
import { selfSignedCertificate } from '../helpers/tls.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { bruteForceFiring } from '../helpers/firings.js';
import { sleep, waitFor } from '../helpers/wait.js';

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const MIN = 60_000;
const FAST = { pollMs: 20, backoff: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: Number.POSITIVE_INFINITY } };

// Polled every 20 ms: these tests follow deliveries and wake-ups that take milliseconds.
const until = (what: string, check: () => boolean | Promise<boolean>): Promise<void> =>
  waitFor(what, check, { timeoutMs: 10_000, pollMs: 20 });

describe('alert notifications from the store queue', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let store: SqliteStore;
  let queue: SqliteNotifyQueue;
  let forwarder: Forwarder | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  const clock = new ManualClock(T0 + 90 * MIN);
  let offset = 0;

  beforeEach(async () => {
    dir = makeTempDir('notify');
    const path = join(dir.path, 'zerotrail.db');
    store = await SqliteStore.open({ path, logger: silentLogger() });
    await store.migrate();
    queue = await SqliteNotifyQueue.open({ path });
    offset = 0;
  });

  afterEach(async () => {
    await forwarder?.stop();
    forwarder = undefined;
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await queue.close();
    await store.close();
    dir.remove();
  });

  async function raise(...firings: AlertFiring[]): Promise<void> {
    const result = await store.commitDetections({
      offsetName: 'test',
      fromOffset: offset,
      toOffset: offset + 1,
      state: [],
      firings,
    });
    expect(result.committed).toBe(true);
    offset += 1;
  }

  function startForwarder(...configs: unknown[]): Forwarder {
    const ctx = { logger: silentLogger(), clock, metrics: new Metrics(), signal: new AbortController().signal };
    const targets: ForwarderTarget[] = configs.map((raw) => {
      const type = (raw as { type: string }).type;
      const config: NotifyTargetConfig =
        type === 'webhook' ? webhookTargetSchema.parse(raw) : syslogTargetSchema.parse(raw);
      return { sink: createSink(config, ctx), minSeverity: config.minSeverity };
    });
    forwarder = new Forwarder({ queue, logger: silentLogger(), clock, metrics: ctx.metrics }, targets, {
      ...FAST,
      linkBaseUrl: 'https://zerotrail.example.com/',
    });
    forwarder.start();
    return forwarder;
  }

  function status(name: string): TargetStatus | undefined {
    return forwarder?.status().find((entry) => entry.target === name);
  }

  it('delivers a new alert as JSON, as a Slack message, and as RFC 5424 over TCP and over TLS', async () => {
    const json = await startWebhookReceiver();
    const slack = await startWebhookReceiver();
    const tcp = await startSyslogReceiver();
    const cert = selfSignedCertificate(dir.path);
    const tls = await startSyslogReceiver({ tls: cert });
    cleanups.push(json.close, slack.close, tcp.close, tls.close);
    process.env['ZT_TEST_WEBHOOK_TOKEN'] = 's3cret-value';
    startForwarder(
      {
        type: 'webhook',
        name: 'soc-json',
        url: `${json.url}/hook`,
        secret_header: { name: 'X-Zerotrail-Token', value_env: 'ZT_TEST_WEBHOOK_TOKEN' },
      },
      { type: 'webhook', name: 'soc-slack', url: `${slack.url}/services/T0/B0/x`, format: 'slack' },
      { type: 'syslog', name: 'siem-tcp', host: '127.0.0.1', port: tcp.port, tls: false },
      { type: 'syslog', name: 'siem-tls', host: '127.0.0.1', port: tls.port, ca_file: cert.certFile },
    );
    await until('the targets to start', () => forwarder?.status().every((entry) => entry.state === 'idle') ?? false);
    await raise(bruteForceFiring('alice@example.com', 3, T0));
    await until(
      'every delivery',
      () => json.bodies.length + slack.bodies.length + tcp.messages.length + tls.messages.length === 4,
    );

    const alert = (await store.listAlerts({ limit: 10 }))[0];
    expect(json.bodies[0]).toEqual({
      type: 'alert.created',
      seq: 1,
      alert: {
        id: alert?.id,
        rule_id: 'zt-brute-force-user',
        title: 'Brute force against a user',
        severity: 'high',
        technique: 'T1110.001',
        entity: { user: 'alice@example.com', ip: '192.0.2.7', app: 'Wiki' },
        summary: 'alice@example.com was denied 3 times from 192.0.2.7',
        first_event_time: new Date(T0).toISOString(),
        last_event_time: new Date(T0 + 2 * MIN).toISOString(),
        count: 3,
        status: 'open',
        link: `https://zerotrail.example.com/alerts/${alert?.id ?? ''}`,
      },
    });
    expect(json.headers[0]?.['x-zerotrail-token']).toBe('s3cret-value');
    const slackBody = slack.bodies[0] as { text: string; blocks: unknown[] };
    expect(slackBody.text).toBe(
      'New alert [high] Brute force against a user: alice@example.com was denied 3 times from 192.0.2.7',
    );
    expect(slackBody.blocks.length).toBeGreaterThan(0);
    for (const message of [tcp.messages[0], tls.messages[0]]) {
      expect(message).toMatch(
        /^<131>1 2026-03-01T09:30:00\.000Z \S+ zerotrail \d+ alert-created \[zerotrail@32473 id="al_/,
      );
      expect(message).toContain('user="alice@example.com"');
      expect(message).toContain('] \u{FEFF}Brute force against a user: alice@example.com was denied 3 times');
    }
    await until('the status to settle', () => status('siem-tls')?.state === 'idle');
    expect(status('siem-tls')).toMatchObject({ delivered: 1, failed: 0, lastError: null });
    expect(await queue.pending('soc-json')).toBe(0);
  });

  it('retries a webhook answering 500 until it answers 200, and delivers the alert once', async () => {
    const hook = await startWebhookReceiver();
    cleanups.push(hook.close);
    hook.script.push(500, 503);
    startForwarder({ type: 'webhook', name: 'soc', url: `${hook.url}/hook` });
    await until('start', () => status('soc')?.state === 'idle');
    await raise(bruteForceFiring('bob@example.com', 3, T0));
    // The receiver has the body before the sink has its answer; the status follows the answer.
    await until('delivery', () => hook.bodies.length === 1 && status('soc')?.delivered === 1);
    expect(status('soc')).toMatchObject({ delivered: 1, failed: 0, lastError: { code: 'SINK_UNAVAILABLE' } });
    await forwarder?.stop();
    expect(hook.bodies).toHaveLength(1);
    expect(await queue.pending('soc')).toBe(0);
  });

  it('keeps notices while the syslog collector is down and delivers them once it is up, across a restart', async () => {
    const port = await freePort();
    startForwarder({ type: 'syslog', name: 'siem', host: '127.0.0.1', port, tls: false });
    await until('start', () => status('siem')?.state === 'idle');
    await raise(bruteForceFiring('carol@example.com', 3, T0), bruteForceFiring('dave@example.com', 4, T0));
    await until('a failed attempt', () => status('siem')?.lastError?.code === 'SINK_UNREACHABLE');
    // The process stops while the collector is still down: nothing was accepted, so the queue keeps both.
    await forwarder?.stop();
    expect(await queue.pending('siem')).toBe(2);

    const collector = await startSyslogReceiver({ port });
    cleanups.push(collector.close);
    startForwarder({ type: 'syslog', name: 'siem', host: '127.0.0.1', port, tls: false });
    await until('delivery', () => collector.messages.length >= 2);
    expect(collector.messages.map((message) => /user="([^"]+)"/.exec(message)?.[1])).toEqual([
      'carol@example.com',
      'dave@example.com',
    ]);
    await until('the offset', async () => (await queue.pending('siem')) === 0);
  });

  it('stops a TLS target whose certificate is not trusted, with a clear error, and keeps its notices', async () => {
    const cert = selfSignedCertificate(dir.path);
    const tls = await startSyslogReceiver({ tls: cert });
    cleanups.push(tls.close);
    startForwarder({ type: 'syslog', name: 'siem', host: '127.0.0.1', port: tls.port });
    await until('start', () => status('siem')?.state === 'idle');
    await raise(bruteForceFiring('erin@example.com', 3, T0));
    await until('the stop', () => status('siem')?.state === 'stopped');
    const error = status('siem')?.lastError;
    expect(error?.code).toBe('SINK_TLS_FAILED');
    expect(error?.message).toMatch(
      /^Notification target siem \(tls:\/\/127\.0\.0\.1:\d+\) failed TLS verification: \w+/,
    );
    expect(tls.messages).toHaveLength(0);
    expect(await queue.pending('siem')).toBe(1);
    expect(await queue.failures('siem')).toEqual([]);
  });

  it('records a notice the webhook refuses for good and goes on with the next alert', async () => {
    const hook = await startWebhookReceiver();
    cleanups.push(hook.close);
    hook.script.push(422);
    startForwarder({ type: 'webhook', name: 'soc', url: `${hook.url}/hook` });
    await until('start', () => status('soc')?.state === 'idle');
    await raise(bruteForceFiring('frank@example.com', 3, T0));
    await until('the refusal', () => status('soc')?.failed === 1);
    await raise(bruteForceFiring('grace@example.com', 3, T0));
    await until('the next delivery', () => hook.bodies.length === 1);
    const failures = await queue.failures('soc');
    expect(failures).toMatchObject([{ target: 'soc', seq: 1, code: 'SINK_REJECTED' }]);
    expect(failures[0]?.message).toContain('HTTP 422');
    expect((hook.bodies[0] as { alert: { entity: { user: string } } }).alert.entity.user).toBe('grace@example.com');
    // The refused alert itself is still in the store.
    expect(await store.listAlerts({ limit: 10 })).toHaveLength(2);
  });

  it('waits at least its backoff when a webhook asks to retry at once (Retry-After: 0 or a date gone by)', async () => {
    let busy = true;
    const tries = { zero: 0, past: 0 };
    let delivered = 0;
    const hook = createHttpServer((request, response) => {
      request.resume();
      const which = request.url === '/zero' ? 'zero' : 'past';
      if (!busy) {
        delivered += 1;
        response.writeHead(200).end();
        return;
      }
      tries[which] += 1;
      if (which === 'zero') response.writeHead(429, { 'retry-after': '0' }).end();
      else response.writeHead(503, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }).end();
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => hook.close(() => resolve())));
    const base = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    startForwarder(
      { type: 'webhook', name: 'zero', url: `${base}/zero` },
      { type: 'webhook', name: 'past', url: `${base}/past` },
    );
    await until('start', () => status('zero')?.state === 'idle' && status('past')?.state === 'idle');
    await raise(bruteForceFiring('olga@example.com', 3, T0));
    await sleep(1_000);
    // The backoff here runs from 20 ms to at most 100 ms: about 15 tries a second, not thousands.
    expect(tries.zero).toBeGreaterThan(2);
    expect(tries.zero).toBeLessThan(40);
    expect(tries.past).toBeGreaterThan(2);
    expect(tries.past).toBeLessThan(40);
    expect(status('zero')).toMatchObject({ state: 'retrying', lastError: { code: 'SINK_UNAVAILABLE' } });
    busy = false;
    await until('delivery', () => status('zero')?.delivered === 1 && status('past')?.delivered === 1);
    expect(delivered).toBe(2);
  });

  it('retries a queue write the database refused for a moment after a send, instead of stopping the target', async () => {
    // Another process holds the SQLite write lock while the targets deliver, so the offset and the refusal each
    // one writes after its send (or, below its threshold, without one) meet STORE_BUSY, after 50 ms of waiting.
    const path = join(dir.path, 'zerotrail.db');
    const busyQueue = await SqliteNotifyQueue.open({ path, busyTimeoutMs: 50 });
    const other = new Database(path);
    const posts: string[] = [];
    const hook = createHttpServer((request, response) => {
      request.resume();
      posts.push(request.url ?? '');
      response.writeHead(request.url === '/refuse' ? 422 : 200).end();
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await busyQueue.close();
      await new Promise<void>((resolve) => hook.close(() => resolve()));
    });
    const base = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    const ctx = { logger: silentLogger(), clock, metrics: new Metrics(), signal: new AbortController().signal };
    const names = ['ok', 'refuse', 'skip'];
    const targets: ForwarderTarget[] = [
      { type: 'webhook', name: 'ok', url: `${base}/ok` },
      { type: 'webhook', name: 'refuse', url: `${base}/refuse` },
      { type: 'webhook', name: 'skip', url: `${base}/skip`, min_severity: 'critical' },
    ].map((raw) => {
      const config = webhookTargetSchema.parse(raw);
      return { sink: createSink(config, ctx), minSeverity: config.minSeverity };
    });
    // Only poke() wakes the targets, so each reads the notice once the lock is held.
    forwarder = new Forwarder({ queue: busyQueue, logger: silentLogger(), clock, metrics: ctx.metrics }, targets, {
      ...FAST,
      pollMs: 3_600_000,
    });
    forwarder.start();
    await until('start', () => forwarder?.status().every((entry) => entry.state === 'idle') ?? false);
    await raise(bruteForceFiring('pat@example.com', 3, T0));
    other.exec('BEGIN IMMEDIATE');
    forwarder.poke();
    const retried = (target: string): number => ctx.metrics.value('notify_store_retries_total', { target });
    await until('a retried write for every target', () => names.every((target) => retried(target) > 0));
    for (const target of names) expect(status(target)?.state).toBe('retrying');
    expect(status('ok')?.lastError?.code).toBe('STORE_BUSY');
    other.exec('ROLLBACK');

    await until('the statuses', () => status('ok')?.delivered === 1 && status('refuse')?.failed === 1);
    await until('every offset', async () => (await queue.pending('skip')) === 0);
    for (const target of names) expect(await queue.pending(target)).toBe(0);
    expect(await queue.failures('refuse')).toMatchObject([{ seq: 1, code: 'SINK_REJECTED' }]);
    for (const target of names) expect(status(target)?.state).not.toBe('stopped');
    // Only the write was repeated: each receiver got the notice once.
    expect(posts.sort()).toEqual(['/ok', '/refuse']);
  });

  it('applies the severity threshold and notifies a growing alert again only at a power of ten', async () => {
    const hook = await startWebhookReceiver();
    cleanups.push(hook.close);
    startForwarder({ type: 'webhook', name: 'soc', url: `${hook.url}/hook`, min_severity: 'high' });
    await until('start', () => status('soc')?.state === 'idle');
    await raise(bruteForceFiring('heidi@example.com', 3, T0, { severity: 'medium' }));
    await raise(bruteForceFiring('ivan@example.com', 3, T0));
    await until('delivery', () => hook.bodies.length === 1);
    // ivan's alert grows from 3 to 9 events (no notice), then to 12 (past 10: one notice).
    await raise(bruteForceFiring('ivan@example.com', 9, T0));
    await raise(bruteForceFiring('ivan@example.com', 12, T0));
    await until('the growth notice', () => hook.bodies.length === 2);
    // heidi's alert rises to high: an escalation notice passes the threshold.
    await raise(bruteForceFiring('heidi@example.com', 4, T0, { severity: 'high' }));
    await until('the escalation', () => hook.bodies.length === 3);
    const seen = hook.bodies.map((body) => {
      const typed = body as { type: string; alert: { entity: { user: string }; count: number } };
      return [typed.type, typed.alert.entity.user, typed.alert.count];
    });
    expect(seen).toEqual([
      ['alert.created', 'ivan@example.com', 3],
      ['alert.grew', 'ivan@example.com', 12],
      ['alert.escalated', 'heidi@example.com', 4],
    ]);
  });

  it('stops a webhook target that answers 401, keeping its notices for after the fix', async () => {
    const hook = await startWebhookReceiver();
    cleanups.push(hook.close);
    hook.script.push(401);
    startForwarder({ type: 'webhook', name: 'soc', url: `${hook.url}/hook` });
    await until('start', () => status('soc')?.state === 'idle');
    await raise(bruteForceFiring('judy@example.com', 3, T0));
    await until('the stop', () => status('soc')?.state === 'stopped');
    expect(status('soc')?.lastError?.code).toBe('SINK_REJECTED');
    expect(await queue.pending('soc')).toBe(1);
    expect(await queue.failures('soc')).toEqual([]);
    // After the fix and a restart, the same alert is delivered.
    await forwarder?.stop();
    startForwarder({ type: 'webhook', name: 'soc', url: `${hook.url}/hook` });
    await until('delivery', () => hook.bodies.length === 1);
  });

  it('stops a webhook target that answers with a redirect, naming where to without secrets, and keeps its notices', async () => {
    // A receiver that moved: every POST gets a redirect, as a renamed endpoint or an http to https move answers.
    const requests: string[] = [];
    const moved = createHttpServer((request, response) => {
      requests.push(request.url ?? '');
      request.resume();
      const location = request.url?.startsWith('/old')
        ? 'https://hooks.example.net/new/T0/B0/s3cret?token=abc'
        : '/relative';
      response.writeHead(request.url?.startsWith('/old') ? 308 : 301, { location }).end();
    });
    await new Promise<void>((resolve) => moved.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => moved.close(() => resolve())));
    const base = `http://127.0.0.1:${(moved.address() as AddressInfo).port}`;
    startForwarder(
      { type: 'webhook', name: 'renamed', url: `${base}/old/hook` },
      { type: 'webhook', name: 'relative', url: `${base}/hook` },
    );
    await until('start', () => status('renamed')?.state === 'idle' && status('relative')?.state === 'idle');
    await raise(bruteForceFiring('mallory@example.com', 3, T0));
    await raise(bruteForceFiring('nina@example.com', 3, T0));
    await until('the stops', () => status('renamed')?.state === 'stopped' && status('relative')?.state === 'stopped');
    expect(status('renamed')?.lastError).toMatchObject({
      code: 'SINK_REJECTED',
      message: expect.stringContaining(
        'answered HTTP 308, a redirect to https://hooks.example.net/new…: put the address it moved to',
      ) as string,
    });
    expect(status('relative')?.lastError?.message).toContain(`answered HTTP 301, a redirect to ${base}/relative:`);
    expect(status('renamed')?.lastError?.message).not.toMatch(/s3cret|token/);
    // Each target tried the first notice once and kept both for after the fix.
    expect(requests).toHaveLength(2);
    for (const target of ['renamed', 'relative']) {
      expect(await queue.pending(target)).toBe(2);
      expect(await queue.failures(target)).toEqual([]);
    }
  });

  it('keeps the place of a target that cannot start, so after the fix it delivers what was raised meanwhile', async () => {
    const hook = await startWebhookReceiver();
    cleanups.push(hook.close);
    const variable = 'ZEROTRAIL_TEST_HOOK_SECRET';
    delete process.env[variable];
    const target = {
      type: 'webhook',
      name: 'soc',
      url: `${hook.url}/hook`,
      secret_header: { name: 'X-Hook-Secret', value_env: variable },
    };
    startForwarder(target);
    await until('the stop', () => status('soc')?.state === 'stopped');
    expect(status('soc')?.lastError?.message).toContain(`${variable} for its X-Hook-Secret header is not set`);
    await raise(bruteForceFiring('kim@example.com', 3, T0));
    await raise(bruteForceFiring('lee@example.com', 3, T0));
    expect(await queue.pending('soc')).toBe(2);
    await forwarder?.stop();
    process.env[variable] = 'hook-secret-value';
    try {
      startForwarder(target);
      await until('delivery', () => hook.bodies.length === 2);
    } finally {
      delete process.env[variable];
    }
    const users = hook.bodies.map((body) => (body as { alert: { entity: { user: string } } }).alert.entity.user);
    expect(users).toEqual(['kim@example.com', 'lee@example.com']);
  });

  it('stops safely before start and twice, for the forwarder and both sinks', async () => {
    const ctx = { logger: silentLogger(), clock, metrics: new Metrics(), signal: new AbortController().signal };
    for (const raw of [
      { type: 'webhook', name: 'a', url: 'http://127.0.0.1:9/x' },
      { type: 'syslog', name: 'b', host: '127.0.0.1' },
    ]) {
      const config: NotifyTargetConfig =
        raw.type === 'webhook' ? webhookTargetSchema.parse(raw) : syslogTargetSchema.parse(raw);
      const sink = createSink(config, ctx);
      await sink.stop();
      await sink.stop();
    }
    const idle = new Forwarder({ queue, logger: silentLogger(), clock, metrics: ctx.metrics }, []);
    await idle.stop();
    await idle.stop();
    idle.start();
    expect(idle.status()).toEqual([]);
  });

  describe('the status each target writes for other processes', () => {
    const SOC = { name: 'soc', type: 'webhook', minSeverity: 'low' } as const;
    const view = async (...targets: NotifyTargetSetting[]) => await notifyTargetViews(queue, targets);

    it('shows retries, the last error and the last success, carries them over a restart, and offline after a stop', async () => {
      const hook = await startWebhookReceiver();
      cleanups.push(hook.close);
      hook.script.push(503, 503);
      expect(await view(SOC)).toMatchObject([{ target: 'soc', state: 'never_started', queued: 0, delivered: 0 }]);
      startForwarder({ type: 'webhook', name: 'soc', url: `${hook.url}/hook`, min_severity: 'low' });
      await until('start', () => status('soc')?.state === 'idle');
      await raise(bruteForceFiring('kate@example.com', 3, T0));
      await until('delivery', () => hook.bodies.length === 1);
      await until('the stored status', async () => (await view(SOC))[0]?.state === 'idle');
      const [delivered] = await view(SOC);
      expect(delivered).toMatchObject({
        configured: true,
        minSeverity: 'low',
        queued: 0,
        oldestQueuedAt: null,
        delivered: 1,
        refused: 0,
        retries: 2,
        attempt: 0,
        lastSuccessAt: clock.now(),
        lastError: { code: 'SINK_UNAVAILABLE', at: clock.now() },
        nextAttemptAt: null,
      });
      expect(delivered?.reportedBy).toMatch(/ pid \d+$/);
      expect(delivered?.lastError?.message).toContain('503');

      await forwarder?.stop();
      expect(await view(SOC)).toMatchObject([{ state: 'offline', delivered: 1, retries: 2 }]);
      startForwarder({ type: 'webhook', name: 'soc', url: `${hook.url}/hook`, min_severity: 'low' });
      await raise(bruteForceFiring('liam@example.com', 3, T0));
      await until('the second delivery', () => hook.bodies.length === 2);
      await until('the stored count', async () => (await view(SOC))[0]?.delivered === 2);
      expect(await view(SOC)).toMatchObject([{ state: 'idle', retries: 2, lastError: { code: 'SINK_UNAVAILABLE' } }]);
    });

    it('shows a target whose receiver is down as retrying, with the notices at its threshold waiting', async () => {
      const port = await freePort();
      startForwarder({ type: 'syslog', name: 'siem', host: '127.0.0.1', port, tls: false, min_severity: 'high' });
      await until('start', () => status('siem')?.state === 'idle');
      await raise(bruteForceFiring('mia@example.com', 3, T0, { severity: 'low' }));
      await raise(bruteForceFiring('noah@example.com', 3, T0, { severity: 'critical' }));
      const siem = { name: 'siem', type: 'syslog', minSeverity: 'high' } as const;
      await until('a stored retry', async () => ((await view(siem))[0]?.attempt ?? 0) >= 2);
      const [retrying] = await view(siem);
      expect(retrying).toMatchObject({
        state: 'retrying',
        queued: 1,
        delivered: 0,
        lastSuccessAt: null,
        lastError: { code: 'SINK_UNREACHABLE' },
      });
      expect(retrying?.retries).toBeGreaterThanOrEqual(2);
      expect(typeof retrying?.oldestQueuedAt).toBe('number');
      expect(retrying?.nextAttemptAt).toBeGreaterThanOrEqual(clock.now());
      // A target no longer configured is still shown, with every notice after its offset (it passed the low one).
      await forwarder?.stop();
      expect(await view(SOC)).toMatchObject([
        { target: 'soc', configured: true, state: 'never_started' },
        { target: 'siem', configured: false, minSeverity: null, queued: 1, state: 'offline' },
      ]);
    });

    it('shows a target stopped by a 401 as stopped, with its notice still queued', async () => {
      const hook = await startWebhookReceiver();
      cleanups.push(hook.close);
      hook.script.push(401);
      startForwarder({ type: 'webhook', name: 'soc', url: `${hook.url}/hook`, min_severity: 'low' });
      await until('start', () => status('soc')?.state === 'idle');
      await raise(bruteForceFiring('olivia@example.com', 3, T0));
      await until('the stored stop', async () => (await view(SOC))[0]?.state === 'stopped');
      await forwarder?.stop();
      expect(await view(SOC)).toMatchObject([
        { state: 'stopped', queued: 1, delivered: 0, lastError: { code: 'SINK_REJECTED' } },
      ]);
    });
  });
});
