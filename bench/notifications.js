#!/usr/bin/env node
// Alert notification benchmark: how long an alert takes from the detector's commit that raises it to a real local
// webhook receiver (HTTP, JSON format) and a real local syslog collector (RFC 5424 over TCP), and how many alerts a
// second each target takes. Events are stored into a temporary SQLite file and the detector is notified, as
// collection does after each stored batch; the detector (with one rule that raises an alert per denied login of a
// new user), the notification queue, the forwarder and both sinks are the ones the collector runs, and the detector
// wakes the forwarder after each commit that raised alerts, as `startForwarder` wires them.
//   latency: --alerts N (default 200) events, one every --interval-ms (default 100), each stored on its own;
//            per target p50, p95 and max of receipt time minus the time of the commit that raised the alert, and
//            the p50 from the event being stored (which adds the detector's wait between runs).
//   burst:   --burst N (default 2000) events stored at once, raised in one commit; per target the time from that
//            commit until the last alert arrived.
// The forwarder polls the queue every --poll-ms (default 2000, the collector's) when it has nothing to do; with
// --no-wake the detector does not wake it, so only the poll delivers (the behaviour before the wake-up).
// Run after `npm run build`:
//   node bench/notifications.js [--alerts 200] [--interval-ms 100] [--burst 2000] [--poll-ms 2000] [--no-wake]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../dist/core/clock.js';
import { silentLogger } from '../dist/core/logger.js';
import { Metrics } from '../dist/core/metrics.js';
import { Detector } from '../dist/detect/detector.js';
import { parseRuleFile } from '../dist/detect/rule-file.js';
import { Forwarder } from '../dist/pipeline/forwarder.js';
import { createSink } from '../dist/sinks/sink.js';
import { syslogTargetSchema } from '../dist/sinks/syslog/config.js';
import { webhookTargetSchema } from '../dist/sinks/webhook/config.js';
import { SqliteNotifyQueue } from '../dist/store/sqlite/notify-queue.js';
import { SqliteStore } from '../dist/store/sqlite/store.js';

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const ALERTS = argument('alerts', 200);
const INTERVAL_MS = argument('interval-ms', 100);
const BURST = argument('burst', 2000);
const POLL_MS = argument('poll-ms', 2000);
const WAKE = !process.argv.includes('--no-wake');

// Every denied login is an alert of its own, one per user.
const RULE = parseRuleFile(
  [
    'id: bench-denied-login',
    'title: Denied Access login',
    'type: event',
    'severity: high',
    'technique: T1110',
    'description: Each denied Access login, grouped by user.',
    'match: { dataset: access_requests, outcome: failure }',
    'params: { group_by: [user] }',
    "summary: '{user} was denied from {src_ip}'",
    '',
  ].join('\n'),
  'bench',
);

/** Receipt times by alert id, and a way to wait until a number of alerts has arrived. */
function arrivals() {
  const at = new Map();
  let waiting = null;
  return {
    at,
    record(id) {
      if (!at.has(id)) at.set(id, Date.now());
      if (waiting !== null && at.size >= waiting.count) waiting.resolve();
    },
    until(count, timeoutMs) {
      if (at.size >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${count - at.size} alerts never arrived`)), timeoutMs);
        waiting = {
          count,
          resolve: () => {
            clearTimeout(timer);
            waiting = null;
            resolve();
          },
        };
      });
    },
  };
}

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

// A webhook receiver that answers 200 to every POST and notes when each alert arrived.
async function startWebhook(received) {
  const server = createHttpServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      received.record(JSON.parse(Buffer.concat(chunks).toString('utf8')).alert.id);
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  return { port: await listen(server), close: () => new Promise((resolve) => server.close(resolve)) };
}

// A syslog collector over TCP that splits the stream by octet counting (RFC 6587) and notes each alert's arrival.
async function startSyslog(received) {
  const sockets = new Set();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) return;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        if (buffer.length < space + 1 + length) return;
        const message = buffer.subarray(space + 1, space + 1 + length).toString('utf8');
        buffer = buffer.subarray(space + 1 + length);
        const id = /\bid="([^"]+)"/.exec(message)?.[1];
        if (id !== undefined) received.record(id);
      }
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    port: await listen(server),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-bench-notify-'));
const path = join(dir, 'zerotrail.db');
const store = await SqliteStore.open({ path, logger: silentLogger(), clock: systemClock });
await store.migrate();
const queue = await SqliteNotifyQueue.open({ path });
const viaWebhook = arrivals();
const viaSyslog = arrivals();
const webhook = await startWebhook(viaWebhook);
const syslog = await startSyslog(viaSyslog);
const metrics = new Metrics();
const ctx = { logger: silentLogger(), clock: systemClock, metrics, signal: new AbortController().signal };
const targets = [
  webhookTargetSchema.parse({
    type: 'webhook',
    name: 'webhook',
    url: `http://127.0.0.1:${webhook.port}/zerotrail`,
    min_severity: 'low',
  }),
  syslogTargetSchema.parse({
    type: 'syslog',
    name: 'syslog',
    host: '127.0.0.1',
    port: syslog.port,
    tls: false,
    min_severity: 'low',
  }),
].map((config) => ({ sink: createSink(config, ctx), minSeverity: config.minSeverity }));
const forwarder = new Forwarder({ queue, logger: silentLogger(), clock: systemClock, metrics }, targets, {
  pollMs: POLL_MS,
});
const detector = new Detector({ store, logger: silentLogger(), clock: systemClock, metrics }, [RULE]);
if (WAKE) detector.onAlerts(() => forwarder.poke());

let serial = 0;
/** When each user's denied login was stored. */
const storedAt = new Map();
// Stores `count` denied logins, each of another user, and notifies the detector as collection does.
async function storeDenials(prefix, count) {
  const now = Date.now();
  const events = Array.from({ length: count }, () => {
    serial += 1;
    return {
      id: `${String(now).padStart(14, '0')}-${String(serial).padStart(7, '0')}`,
      sourceName: 'bench',
      accountId: '0123456789abcdef0123456789abcdef',
      dataset: 'access_requests',
      time: now - 60_000,
      classUid: 3002,
      activity: 'logon',
      outcome: 'failure',
      user: `${prefix}${serial}@example.com`,
      srcIp: '203.0.113.7',
      country: 'nl',
      app: 'wiki.example.com',
      appUid: 'app-1',
      idp: 'okta',
      rayId: null,
      ocsf: { message: 'Cloudflare Access logon denied' },
      raw: {},
    };
  });
  await store.append(events, { id: 'bench/access_requests', value: { serial } });
  const at = Date.now();
  for (const event of events) storedAt.set(event.user, at);
  detector.notify();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

try {
  forwarder.start();
  while (forwarder.status().some((target) => target.state === 'starting')) await sleep(10);

  const began = Date.now();
  for (let i = 0; i < ALERTS; i++) {
    await storeDenials('lat', 1);
    await sleep(INTERVAL_MS);
  }
  const timeout = 60_000 + POLL_MS;
  await Promise.all([viaWebhook.until(ALERTS, timeout), viaSyslog.until(ALERTS, timeout)]);
  const latencySecs = (Date.now() - began) / 1000;
  await storeDenials('burst', BURST);
  await Promise.all([viaWebhook.until(ALERTS + BURST, 300_000), viaSyslog.until(ALERTS + BURST, 300_000)]);

  // Each alert's commit time is its creation time in the store (the commit's clock reading).
  const alerts = new Map();
  for (const id of viaWebhook.at.keys()) alerts.set(id, await store.getAlert(id));
  const isBurst = (alert) => alert.entity.user.startsWith('burst');
  const burstCommittedAt = Math.min(...[...alerts.values()].filter(isBurst).map((alert) => alert.createdAt));

  console.log(
    `${ALERTS} alerts one every ${INTERVAL_MS} ms (${latencySecs.toFixed(1)} s), then ${BURST} in one commit; forwarder polls every ${POLL_MS} ms when idle${WAKE ? ' and is woken by the detector after each commit that raised alerts' : ', not woken by the detector (--no-wake)'}`,
  );
  console.log(
    'path: event stored → detector commit (SQLite, queue trigger) → forwarder → real sink → local receiver on 127.0.0.1',
  );
  console.log('');
  const rows = [
    ['target', 'commit→receipt p50', 'p95', 'max', 'stored→receipt p50', 'burst: last arrived after', 'alerts/s'],
  ];
  for (const [name, received] of [
    ['webhook (HTTP, JSON)', viaWebhook],
    ['syslog (TCP, RFC 5424)', viaSyslog],
  ]) {
    const fromCommit = [];
    const fromStored = [];
    let lastBurst = 0;
    for (const [id, at] of received.at) {
      const alert = alerts.get(id) ?? (await store.getAlert(id));
      if (isBurst(alert)) {
        lastBurst = Math.max(lastBurst, at);
        continue;
      }
      fromCommit.push(at - alert.createdAt);
      fromStored.push(at - storedAt.get(alert.entity.user));
    }
    fromCommit.sort((x, y) => x - y);
    fromStored.sort((x, y) => x - y);
    const burstMs = lastBurst - burstCommittedAt;
    rows.push([
      name,
      `${percentile(fromCommit, 50)} ms`,
      `${percentile(fromCommit, 95)} ms`,
      `${fromCommit[fromCommit.length - 1]} ms`,
      `${percentile(fromStored, 50)} ms`,
      `${burstMs} ms`,
      String(Math.round((BURST * 1000) / Math.max(1, burstMs))),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  '));
} finally {
  await forwarder.stop();
  await detector.close();
  await webhook.close();
  await syslog.close();
  await queue.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
