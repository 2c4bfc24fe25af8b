#!/usr/bin/env node
// Alert notification benchmark: how long an alert takes from the commit that raises it to a real local webhook
// receiver (HTTP, JSON format) and a real local syslog collector (RFC 5424 over TCP), and how many alerts a second
// each target takes. Alerts are raised through the store's detection commit into a temporary SQLite file, as the
// detector raises them; the notification queue, the forwarder and both sinks are the ones the collector runs.
//   latency: --alerts N (default 200) alerts, one every --interval-ms (default 100), each in its own commit;
//            per target p50, p95 and max of receipt time minus commit time.
//   burst:   --burst N (default 2000) alerts in one commit; per target the time until the last one arrived.
// The forwarder polls the queue every --poll-ms (default 2000, the collector's) when it has nothing to do; with
// --poke it is also woken after each commit, as a collector could do once its detector has raised alerts.
// Run after `npm run build`:
//   node bench/notifications.js [--alerts 200] [--interval-ms 100] [--burst 2000] [--poll-ms 2000] [--poke]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../dist/core/clock.js';
import { silentLogger } from '../dist/core/logger.js';
import { Metrics } from '../dist/core/metrics.js';
import { Forwarder } from '../dist/pipeline/forwarder.js';
import { createSink } from '../dist/sinks/sink.js';
import { syslogTargetSchema } from '../dist/sinks/syslog/config.js';
import { webhookTargetSchema } from '../dist/sinks/webhook/config.js';
import { alertIdFor } from '../dist/store/detection-store.js';
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
const POKE = process.argv.includes('--poke');

/** Receipt times by alert id, and a way to wait until a set of ids has arrived. */
function arrivals() {
  const at = new Map();
  let waiting = null;
  return {
    at,
    record(id) {
      if (!at.has(id)) at.set(id, Date.now());
      if (waiting !== null && waiting.ids.every((wanted) => at.has(wanted))) waiting.resolve();
    },
    until(ids, timeoutMs) {
      if (ids.every((id) => at.has(id))) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${ids.length - ids.filter((id) => at.has(id)).length} alerts never arrived`)),
          timeoutMs,
        );
        waiting = {
          ids,
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

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
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

let offset = 0;
let serial = 0;
// One commit of the detector with `count` new alerts (each about another user); the ids of the alerts it raised.
async function raise(count) {
  const now = Date.now();
  const firings = Array.from({ length: count }, () => {
    serial += 1;
    const user = `user${serial}@example.com`;
    return {
      ruleId: 'zt-brute-force-user',
      title: 'Brute force against a user',
      severity: 'high',
      technique: 'T1110.001',
      entityKey: user,
      entity: { user, ip: '203.0.113.7', app: 'wiki.example.com' },
      summary: `${user} was denied 12 times from 203.0.113.7 in 5 minutes`,
      evidence: [{ eventId: `ev-${serial}`, eventTime: now - 60_000 }],
      details: {},
      suppressMs: 3_600_000,
    };
  });
  const result = await store.commitDetections({
    offsetName: 'bench',
    fromOffset: offset,
    toOffset: offset + 1,
    state: [],
    firings,
  });
  offset += 1;
  const committedAt = Date.now();
  if (POKE) forwarder.poke();
  if (result.created !== count) throw new Error(`expected ${count} new alerts, the commit created ${result.created}`);
  const ids = firings.map((firing) => alertIdFor(firing.ruleId, firing.entityKey, firing.evidence[0].eventId));
  return { ids, committedAt };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

try {
  forwarder.start();
  while (forwarder.status().some((target) => target.state === 'starting')) await sleep(10);

  const latencies = { webhook: [], syslog: [] };
  const began = Date.now();
  const raised = [];
  for (let i = 0; i < ALERTS; i++) {
    raised.push(await raise(1));
    await sleep(INTERVAL_MS);
  }
  const allIds = raised.flatMap((entry) => entry.ids);
  await Promise.all([viaWebhook.until(allIds, 60_000 + POLL_MS), viaSyslog.until(allIds, 60_000 + POLL_MS)]);
  for (const { ids, committedAt } of raised) {
    const id = ids[0];
    latencies.webhook.push(viaWebhook.at.get(id) - committedAt);
    latencies.syslog.push(viaSyslog.at.get(id) - committedAt);
  }
  const latencySecs = (Date.now() - began) / 1000;

  const burst = await raise(BURST);
  await Promise.all([viaWebhook.until(burst.ids, 300_000), viaSyslog.until(burst.ids, 300_000)]);
  const lastOf = (received) => Math.max(...burst.ids.map((id) => received.at.get(id)));

  console.log(
    `${ALERTS} alerts one every ${INTERVAL_MS} ms (${latencySecs.toFixed(1)} s), then ${BURST} in one commit; forwarder polls every ${POLL_MS} ms when idle${POKE ? ' and is woken after each commit' : ''}`,
  );
  console.log('path: store commit (SQLite, queue trigger) → forwarder → real sink → local receiver on 127.0.0.1');
  console.log('');
  const rows = [['target', 'latency p50', 'p95', 'max', 'burst: last arrived after', 'alerts/s']];
  for (const [name, received] of [
    ['webhook (HTTP, JSON)', viaWebhook],
    ['syslog (TCP, RFC 5424)', viaSyslog],
  ]) {
    const sorted = [...latencies[name.startsWith('webhook') ? 'webhook' : 'syslog']].sort((a, b) => a - b);
    const burstMs = lastOf(received) - burst.committedAt;
    rows.push([
      name,
      `${percentile(sorted, 50)} ms`,
      `${percentile(sorted, 95)} ms`,
      `${sorted[sorted.length - 1]} ms`,
      `${burstMs} ms`,
      String(Math.round((BURST * 1000) / Math.max(1, burstMs))),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  '));
} finally {
  await forwarder.stop();
  await webhook.close();
  await syslog.close();
  await queue.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
