#!/usr/bin/env node
// Explore histogram benchmark: a store of N events over 180 days (Access logins, with a share of audit events
// that no summary counts), then the counts per time bucket that Explore draws above its results, over 24 hours,
// 7 days and 180 days, without a query and with a few; then the dashboard over the same periods. Prints p50/p95
// per query; it asserts nothing.
// Run after `npm run build`:
//   node bench/explore-histogram.js [--events 1000000] [--runs 10] [--other 0.05] [--dist dist]
//     [--postgres postgres://postgres@127.0.0.1:5432/test]   (a fresh schema there, dropped at the end)
//     [--vacuum]   (PostgreSQL: VACUUM ANALYZE the events before measuring, as autovacuum would in time; index-only
//                   scans read the table until then)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openBenchSchema } from './postgres-schema.js';

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const EVENTS = Number(argument('events', '1000000'));
const RUNS = Number(argument('runs', '10'));
// Share of events that are not authentications (audit log entries, class 6003).
const OTHER = Number(argument('other', '0.05'));
const DIST = resolve(argument('dist', 'dist'));
const POSTGRES = argument('postgres', undefined);
const VACUUM = process.argv.includes('--vacuum');
const DAY_MS = 86_400_000;
const SPAN_MS = 180 * DAY_MS;
const BATCH = 1000;

const load = (path) => import(pathToFileURL(join(DIST, path)).href);
const { parseQuery } = await load('store/query-language.js');
const { bucketWidthFor } = await load('server/routes/events.js');

// A seeded generator (mulberry32), so runs compare.
let state = 7;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

function event(index, time) {
  const user = `user${Math.floor(random() * 3000)}@example.com`;
  const login = random() >= OTHER;
  return {
    id: `${time.toString(16).padStart(12, '0')}${String(index).padStart(20, '0')}`,
    time,
    sourceName: 'bench',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: login ? 'access_requests' : 'audit_logs',
    classUid: login ? 3002 : 6003,
    activity: login ? 'logon' : 'update',
    outcome: random() < 0.1 ? 'failure' : 'success',
    user,
    srcIp: `198.51.100.${Math.floor(random() * 250)}`,
    country: ['us', 'de', 'fr', 'jp', 'br'][Math.floor(random() * 5)],
    app: `app${Math.floor(random() * 50)}.example.com`,
    appUid: null,
    idp: 'okta',
    rayId: index.toString(16).padStart(16, '0'),
    ocsf: { class_uid: login ? 3002 : 6003 },
    raw: { email: user },
  };
}

async function openStore() {
  if (POSTGRES === undefined) {
    const { SqliteStore } = await load('store/sqlite/store.js');
    const dir = mkdtempSync(join(tmpdir(), 'zerotrail-bench-histogram-'));
    const store = await SqliteStore.open({ path: join(dir, 'bench.db') });
    return {
      store,
      name: 'SQLite',
      settle: () => Promise.resolve(),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const { PostgresStore } = await load('store/postgres/store.js');
  const benchSchema = await openBenchSchema(POSTGRES, 'bench_histogram');
  const store = await PostgresStore.open({ url: benchSchema.storeUrl });
  return {
    store,
    name: 'PostgreSQL',
    settle: () => (VACUUM ? benchSchema.query(`VACUUM (ANALYZE) ${benchSchema.quoted}.events`) : Promise.resolve()),
    cleanup: () => benchSchema.drop(),
  };
}

async function timed(run) {
  const times = [];
  for (let index = 0; index < RUNS; index += 1) {
    const begin = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - begin) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (fraction) => times[Math.min(times.length - 1, Math.ceil(fraction * times.length) - 1)];
  return `${at(0.5).toFixed(1).padEnd(9)}${at(0.95).toFixed(1)}`;
}

const { store, name, settle, cleanup } = await openStore();
try {
  await store.migrate();
  const endMs = Date.now();
  const started = process.hrtime.bigint();
  for (let written = 0; written < EVENTS; written += BATCH) {
    const events = [];
    for (let index = written; index < Math.min(EVENTS, written + BATCH); index += 1) {
      events.push(event(index, endMs - SPAN_MS + Math.floor((index / EVENTS) * SPAN_MS)));
    }
    await store.append(events, { id: 'bench/access_requests', value: { written } });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `${name}: generated ${EVENTS.toLocaleString('en-US')} events over 180 days (${(OTHER * 100).toFixed(0)}% ` +
      `not logins) in ${seconds.toFixed(0)} s${VACUUM && POSTGRES !== undefined ? ', then vacuumed' : ''}`,
  );

  await settle();
  console.log('histogram query                         range   buckets  p50 ms   p95 ms');
  for (const text of ['', 'outcome:failure', 'user:user42@example.com', 'app:app7.example.com', 'class_uid:3002']) {
    for (const days of [1, 7, 180]) {
      const toMs = endMs;
      const fromMs = toMs - days * DAY_MS;
      const bucketMs = bucketWidthFor(toMs - fromMs);
      const filter = parseQuery(text);
      const figures = await timed(() => store.histogram({ filter, fromMs, toMs, bucketMs }));
      console.log(
        `${(text === '' ? 'everything' : text).padEnd(40)}${`${days} d`.padEnd(8)}` +
          `${String(Math.ceil((toMs - fromMs) / bucketMs)).padEnd(9)}${figures}`,
      );
    }
  }

  console.log('dashboard                                range           p50 ms   p95 ms');
  for (const days of [1, 7, 30, 180]) {
    const figures = await timed(() => store.dashboard({ fromMs: endMs - days * DAY_MS, toMs: endMs, limit: 10 }));
    console.log(`${'all sources'.padEnd(41)}${`${days} d`.padEnd(16)}${figures}`);
  }
} finally {
  await store.close();
  await cleanup();
}
