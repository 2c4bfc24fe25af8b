#!/usr/bin/env node
// Data sources health benchmark: what GET /api/sources computes per source, on a store of N events of one source
// spread over 180 days (most in access_requests; scim_updates and audit_logs quiet for the last day, so their
// newest event lies outside the 24-hour window). Compares the former per-dataset count and unbounded newest-event
// search with the grouped counts now used, uncached and behind the server's cache. Prints p50/p95; asserts nothing.
// Run after `npm run build`:  node bench/sources-health.js [--events 1000000] [--runs 20]
// The generated database is kept in os.tmpdir()/zerotrail-bench-sources-<N>, so a second run skips generation.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceHealthCache, sourceHealth } from '../dist/pipeline/source-health.js';
import { CLOUDFLARE_DATASETS } from '../dist/sources/cloudflare/datasets/catalogue.js';
import { SqliteStore } from '../dist/store/sqlite/store.js';

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const EVENTS = argument('events', 1_000_000);
const RUNS = Math.max(5, argument('runs', 20));
const BATCH = 2000;
const DAY_MS = 86_400_000;
const SPAN_MS = 180 * DAY_MS;
const SOURCE = 'bench';
const ACCOUNT = '0123456789abcdef0123456789abcdef';
// A fixed "now" keeps the generated store and the measured windows the same on every run.
const NOW_MS = Date.parse('2026-11-25T12:00:00Z');
const logger = { child: () => logger, debug() {}, info() {}, warn() {}, error() {} };

function event(index) {
  // One in 50 events goes to the quiet datasets, and only before the last day.
  const quiet = index % 50 === 0;
  const dataset = quiet ? (index % 100 === 0 ? 'audit_logs' : 'scim_updates') : 'access_requests';
  const span = quiet ? SPAN_MS - DAY_MS : SPAN_MS;
  const time = NOW_MS - span + Math.floor(((index * 7919) % EVENTS) * (span / EVENTS)) - (quiet ? DAY_MS : 0);
  return {
    id: `bench-${index}`,
    time,
    sourceName: SOURCE,
    accountId: ACCOUNT,
    dataset,
    classUid: 3002,
    activity: 'logon',
    outcome: index % 13 === 0 ? 'failure' : 'success',
    user: `user${index % 500}@example.com`,
    srcIp: `192.0.2.${index % 250}`,
    country: 'DE',
    app: `app${index % 40}.example.com`,
    appUid: null,
    idp: 'okta',
    rayId: `ray${index}`,
    ocsf: { class_uid: 3002 },
    raw: { i: index },
  };
}

async function openStore() {
  const dir = join(tmpdir(), `zerotrail-bench-sources-${EVENTS}`);
  if (!existsSync(dir)) {
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    const store = await SqliteStore.open({ path: join(partial, 'zerotrail.db'), logger });
    await store.migrate();
    const started = performance.now();
    for (let start = 0; start < EVENTS; start += BATCH) {
      const batch = [];
      for (let index = start; index < Math.min(EVENTS, start + BATCH); index++) batch.push(event(index));
      await store.append(batch, { id: `${SOURCE}/access_requests`, value: { start } });
    }
    await store.close();
    renameSync(partial, dir);
    console.log(`generated ${EVENTS} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const store = await SqliteStore.open({ path: join(dir, 'zerotrail.db'), logger });
  await store.migrate();
  return store;
}

// The health GET /api/sources computed before: one count and, for log datasets, one unbounded search each.
async function formerHealth(store) {
  const term = (field, value) => ({ kind: 'term', field, value, wildcard: false });
  await store.datasetStatuses();
  for (const [dataset, entry] of Object.entries(CLOUDFLARE_DATASETS)) {
    const filter = { kind: 'and', left: term('source', SOURCE), right: term('dataset', dataset) };
    await store.count({ filter, fromMs: NOW_MS - DAY_MS });
    if (entry.kind === 'inventory') await store.inventorySnapshot(SOURCE, dataset);
    else await store.search({ filter, order: 'desc' }, { limit: 1 });
  }
}

async function measure(label, work) {
  await work();
  const times = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  console.log(
    `${label.padEnd(44)} p50 ${at(0.5).toFixed(2).padStart(9)} ms   p95 ${at(0.95).toFixed(2).padStart(9)} ms`,
  );
}

const store = await openStore();
const clock = { now: () => NOW_MS };
const stored = {
  name: SOURCE,
  type: 'cloudflare_zero_trust',
  accountId: ACCOUNT,
  tokenCiphertext: '',
  tokenLastFour: '',
  createdAt: NOW_MS,
  settings: {},
};
console.log(`${EVENTS} events over 180 days, one source, ${RUNS} runs each`);
await measure('former: count + newest search per dataset', () => formerHealth(store));
await measure('now: grouped counts, uncached', () => sourceHealth({ store, clock }, stored));
const cache = new SourceHealthCache({ store, clock });
await measure('now: behind the server cache (10 s)', () => cache.health(stored));
await store.close();
