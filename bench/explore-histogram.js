#!/usr/bin/env node
// Explore histogram benchmark: a store of N Access events over 180 days, then the counts per time bucket that
// Explore draws above its results, over 24 hours, 7 days and 180 days, without a query and with two. Prints
// p50/p95 per query; it asserts nothing.
// Run after `npm run build`:  node bench/explore-histogram.js [--events 1000000] [--runs 10] [--dist dist]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const EVENTS = Number(argument('events', '1000000'));
const RUNS = Number(argument('runs', '10'));
const DIST = resolve(argument('dist', 'dist'));
const DAY_MS = 86_400_000;
const SPAN_MS = 180 * DAY_MS;
const BATCH = 1000;

const { SqliteStore } = await import(pathToFileURL(join(DIST, 'store/sqlite/store.js')).href);
const { parseQuery } = await import(pathToFileURL(join(DIST, 'store/query-language.js')).href);
const { bucketWidthFor } = await import(pathToFileURL(join(DIST, 'server/routes/events.js')).href);

// A seeded generator (mulberry32), so runs compare.
let state = 7;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-bench-histogram-'));
const store = await SqliteStore.open({ path: join(dir, 'bench.db') });
try {
  await store.migrate();
  const endMs = Date.now();
  const started = process.hrtime.bigint();
  for (let written = 0; written < EVENTS; written += BATCH) {
    const events = [];
    for (let index = written; index < Math.min(EVENTS, written + BATCH); index += 1) {
      const time = endMs - SPAN_MS + Math.floor((index / EVENTS) * SPAN_MS);
      const user = `user${Math.floor(random() * 3000)}@example.com`;
      events.push({
        id: `${time.toString(16).padStart(12, '0')}${String(index).padStart(20, '0')}`,
        time,
        sourceName: 'bench',
        accountId: '0123456789abcdef0123456789abcdef',
        dataset: 'access_requests',
        classUid: 3002,
        activity: 'logon',
        outcome: random() < 0.1 ? 'failure' : 'success',
        user,
        srcIp: `198.51.100.${Math.floor(random() * 250)}`,
        country: ['us', 'de', 'fr', 'jp', 'br'][Math.floor(random() * 5)],
        app: `app${Math.floor(random() * 50)}.example.com`,
        appUid: null,
        idp: 'okta',
        rayId: index.toString(16).padStart(16, '0'),
        ocsf: { class_uid: 3002 },
        raw: { email: user },
      });
    }
    await store.append(events, { id: 'bench/access_requests', value: { written } });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`generated ${EVENTS.toLocaleString('en-US')} events over 180 days in ${seconds.toFixed(0)} s`);

  console.log('query                                   range   buckets  p50 ms   p95 ms');
  for (const [label, text] of [
    ['everything', ''],
    ['outcome:failure', 'outcome:failure'],
    ['user:user42@example.com', 'user:user42@example.com'],
  ]) {
    for (const days of [1, 7, 180]) {
      const toMs = endMs;
      const fromMs = toMs - days * DAY_MS;
      const bucketMs = bucketWidthFor(toMs - fromMs);
      const filter = parseQuery(text);
      const times = [];
      for (let run = 0; run < RUNS; run += 1) {
        const begin = process.hrtime.bigint();
        await store.histogram({ filter, fromMs, toMs, bucketMs });
        times.push(Number(process.hrtime.bigint() - begin) / 1e6);
      }
      times.sort((a, b) => a - b);
      const at = (fraction) => times[Math.min(times.length - 1, Math.ceil(fraction * times.length) - 1)];
      console.log(
        `${label.padEnd(40)}${`${days} d`.padEnd(8)}${String(Math.ceil((toMs - fromMs) / bucketMs)).padEnd(9)}` +
          `${at(0.5).toFixed(1).padEnd(9)}${at(0.95).toFixed(1)}`,
      );
    }
  }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
