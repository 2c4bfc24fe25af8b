#!/usr/bin/env node
// Search latency benchmark: a store of N Access events over 180 days, written straight through the normalizer and
// Store.append as the collector writes them, then the reads the server makes: timelines, a ray id lookup, Explore's
// first page over 24 hours and the dashboard. Prints p50/p95 per query; it asserts nothing.
// Run after `npm run build`:  node bench/search.js [--events 10000000] [--seed 7] [--runs 20]
//   [--postgres postgres://postgres@127.0.0.1:5432/test]   also PostgreSQL, side by side with SQLite (see below)
//   [--vacuum]   (PostgreSQL: VACUUM ANALYZE the events and the summary tables before measuring, as autovacuum
//                 would in time; index-only scans read the table until then)
// The generated SQLite database is kept in os.tmpdir()/zerotrail-bench-search-<N>-<seed>, so a second run skips
// generating it. With --postgres the same events (same seed, same generator) are also written through
// PostgresStore.append into a fresh schema, which is dropped at the end, also when the run fails; every query then
// runs against both stores with the same targets, and each line gives SQLite's p50/p95 beside PostgreSQL's, after
// the generation time and rate of each store (for a reused SQLite store, those of the run that generated it). It
// also says whether both stores returned the same results, and Ctrl-C still drops the schema.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { NORMALIZERS } from '../dist/normalize/registry.js';
import { parseQuery } from '../dist/store/query-language.js';
import { PostgresStore } from '../dist/store/postgres/store.js';
import { SqliteStore } from '../dist/store/sqlite/store.js';
import { openBenchSchema } from './postgres-schema.js';

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
function textArgument(name) {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}
const EVENTS = argument('events', 10_000_000);
const SEED = argument('seed', 7);
const RUNS = Math.max(20, argument('runs', 20));
const POSTGRES = textArgument('postgres');
const VACUUM = process.argv.includes('--vacuum');
const BATCH = 1000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const SPAN_MS = 180 * DAY_MS;
const META = { sourceName: 'bench', accountId: '0123456789abcdef0123456789abcdef', dataset: 'access_requests' };

// A small seeded generator (mulberry32), so the same N and seed give the same data on every machine.
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick(random, items) {
  return items[Math.floor(random() * items.length)];
}

// Index into `cumulative` (ascending, last = 1) for a uniform draw: a skewed choice where a few users or apps
// carry most of the traffic, as in a real account.
function weighted(random, cumulative) {
  const draw = random();
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cumulative[middle] < draw) low = middle + 1;
    else high = middle;
  }
  return low;
}

function zipf(count, exponent) {
  const weights = Array.from({ length: count }, (_, index) => 1 / (index + 1) ** exponent);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let running = 0;
  return weights.map((weight) => (running += weight / total));
}

const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'NL', 'IN', 'JP', 'BR', 'CA', 'AU', 'SG', 'ES', 'PL', 'SE', 'IE', 'MX'];
const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'nia'];
const LAST = ['smith', 'jones', 'garcia', 'muller', 'martin', 'rossi', 'tanaka', 'silva', 'kowalski', 'nguyen'];
const APP_NAMES = ['wiki', 'jira', 'grafana', 'vault', 'git', 'ci', 'hr', 'payroll', 'crm', 'docs'];
const IDPS = ['okta', 'azureAD', 'google', 'saml', 'onetimepin'];

function world(random) {
  // Hundreds of addresses per country, each country in its own /16 (IPv4) with a few IPv6 /48s beside it.
  const ipsByCountry = COUNTRIES.map((_, country) =>
    Array.from({ length: 300 }, (_, index) =>
      index % 10 === 9
        ? `2a0${country.toString(16)}:${(0x1000 + index).toString(16)}:${Math.floor(random() * 0xffff).toString(16)}::${(index + 1).toString(16)}`
        : `${20 + country * 7}.${100 + country}.${Math.floor(index / 4)}.${1 + Math.floor(random() * 254)}`,
    ),
  );
  const users = Array.from({ length: 3000 }, (_, index) => {
    const country = weighted(random, zipf(COUNTRIES.length, 1));
    const ips = ipsByCountry[country];
    return {
      email: `${pick(random, FIRST)}.${pick(random, LAST)}${index}@example.com`,
      country,
      homeIps: [pick(random, ips), pick(random, ips), pick(random, ips)],
      // One user in fifty fails most logins (a broken client, a revoked user, someone guessing).
      failureRate: index % 50 === 7 ? 0.6 : 0.03,
      idp: pick(random, IDPS),
    };
  });
  const apps = Array.from({ length: 50 }, (_, index) => ({
    domain: `${APP_NAMES[index % APP_NAMES.length]}${Math.floor(index / APP_NAMES.length) || ''}.corp.example.com`,
    uid: `${(0x1a2b3c4d + index * 7919).toString(16).padStart(8, '0')}-5e6f-4a1b-8c2d-${(index + 1).toString(16).padStart(12, '0')}`,
  }));
  // Users are shuffled before the skew, so the busiest users are not all from the first country.
  const order = users.map((_, index) => index).sort(() => random() - 0.5);
  return { ipsByCountry, users: order.map((index) => users[index]), apps };
}

function hex(random, length) {
  let text = '';
  while (text.length < length)
    text += Math.floor(random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return text.slice(0, length);
}

// With a PostgreSQL schema to drop, Ctrl-C stops the run at the next batch or timed call instead of killing the
// process, so the `finally` below still drops it; a second Ctrl-C kills at once (the listener is gone by then).
let interrupted = false;
if (POSTGRES !== undefined) {
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('interrupted: stopping and dropping the PostgreSQL schema (Ctrl-C again to kill)\n');
  });
}
function stopIfInterrupted() {
  if (interrupted) throw new Error('interrupted');
}

// Writes the N events of SEED into an open, migrated store. Both stores are filled by this one function from the
// same seed, so they hold the same events (event ids are derived from the record).
async function generate(store, endMs, name) {
  const random = generator(SEED);
  const { ipsByCountry, users, apps } = world(random);
  const userWeights = zipf(users.length, 0.9);
  const appWeights = zipf(apps.length, 1.1);
  const normalize = NORMALIZERS.access_requests;
  const startMs = endMs - SPAN_MS;
  const stepMs = SPAN_MS / EVENTS;
  let batch = [];
  for (let index = 0; index < EVENTS; index += 1) {
    const user = users[weighted(random, userWeights)];
    const roaming = random() < 0.1;
    const country = roaming ? Math.floor(random() * COUNTRIES.length) : user.country;
    const app = apps[weighted(random, appWeights)];
    const record = {
      action: random() < 0.97 ? 'login' : 'logout',
      allowed: random() >= user.failureRate,
      app_domain: app.domain,
      app_uid: app.uid,
      connection: random() < 0.95 ? user.idp : pick(random, IDPS),
      country: COUNTRIES[country],
      created_at: new Date(Math.floor(startMs + (index + random()) * stepMs)).toISOString(),
      ip_address: roaming ? pick(random, ipsByCountry[country]) : pick(random, user.homeIps),
      ray_id: hex(random, 16),
      user_email: user.email,
    };
    const event = normalize(record, META);
    if ('rejected' in event) throw new Error(`generated record rejected: ${event.reason}`);
    batch.push(event);
    if (batch.length === BATCH || index === EVENTS - 1) {
      await store.append(batch, { id: 'bench/access_requests', value: { created_at: record.created_at } });
      batch = [];
      stopIfInterrupted();
    }
    if ((index + 1) % 1_000_000 === 0) {
      process.stderr.write(`  ${name}: ${(index + 1).toLocaleString('en-US')} events\n`);
    }
  }
}

const elapsedS = (started) => Number(process.hrtime.bigint() - started) / 1e9;
const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;
const rate = (seconds) => `${seconds.toFixed(1)} s = ${Math.round(EVENTS / seconds).toLocaleString('en-US')} events/s`;
// Labels name the store only when there are two to tell apart, so a SQLite-only run prints what it always has.
const labelled = (text, name) => (POSTGRES === undefined ? text : `${text} ${name}`).padEnd(25);

const cacheDir = join(tmpdir(), `zerotrail-bench-search-${EVENTS}-${SEED}`);
const dbPath = join(cacheDir, 'zerotrail.db');
const metaPath = join(cacheDir, 'meta.json');
if (existsSync(metaPath)) {
  const { generationS } = JSON.parse(readFileSync(metaPath, 'utf8'));
  console.log(`${labelled('store', 'SQLite')} reused ${dbPath} (generated in ${rate(generationS)})`);
} else {
  // Generated beside the cache and renamed into place when complete, so an interrupted run is never reused.
  const partialDir = `${cacheDir}.partial`;
  rmSync(partialDir, { recursive: true, force: true });
  mkdirSync(partialDir, { recursive: true });
  const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const started = process.hrtime.bigint();
  // Timed from open to close: closing merges the rows still in the store's recent table.
  const sqlite = await SqliteStore.open({ path: join(partialDir, 'zerotrail.db') });
  await sqlite.migrate();
  await generate(sqlite, endMs, 'SQLite');
  await sqlite.close();
  const generationS = elapsedS(started);
  writeFileSync(join(partialDir, 'meta.json'), JSON.stringify({ endMs, generationS }));
  rmSync(cacheDir, { recursive: true, force: true });
  renameSync(partialDir, cacheDir);
  console.log(`${labelled('generation', 'SQLite')} ${rate(generationS)} (normalize + append, batches of ${BATCH})`);
}
// PostgreSQL is filled up to the same end, so a reused SQLite store and the new schema hold the same events.
const { endMs } = JSON.parse(readFileSync(metaPath, 'utf8'));

// Targets are drawn from the stored rows (a random moment, the first event at or after it), read directly so the
// choice costs nothing in the figures below. The stores hold the same events, so these serve both.
const random = generator(SEED + 1);
const database = new Database(dbPath, { readonly: true });
const stored = database.prepare('SELECT count(*) AS n FROM events').get().n;
const atOrAfter = database.prepare(
  'SELECT user_name, src_ip, ray_id, app, country FROM events WHERE time >= ? ORDER BY time LIMIT 1',
);
function sampleEvent(fromMs, toMs) {
  return atOrAfter.get(Math.floor(fromMs + random() * (toMs - fromMs)));
}
const samples = Array.from({ length: RUNS }, () => sampleEvent(endMs - SPAN_MS, endMs));
const recentSamples = Array.from({ length: RUNS }, () => sampleEvent(endMs - DAY_MS, endMs));
database.close();

// Opens PostgresStore on a schema of its own, beside the bench's client for the statements the store does not make.
async function openPostgres(serverUrl) {
  const benchSchema = await openBenchSchema(serverUrl, 'bench_search');
  let store;
  try {
    store = await PostgresStore.open({ url: benchSchema.storeUrl });
  } catch (error) {
    await benchSchema.drop();
    throw error;
  }
  return {
    store,
    schema: benchSchema.schema,
    where: benchSchema.where,
    sql: (text) => benchSchema.query(text),
    // The dashboard reads the summary tables beside the events; VACUUM on the partitioned table covers each month.
    tables: ['events', 'summary_hours', 'summary_days', 'summary_first_seen']
      .map((table) => `${benchSchema.quoted}.${pg.escapeIdentifier(table)}`)
      .join(', '),
    async close() {
      try {
        await store.close();
        await benchSchema.drop();
      } catch (error) {
        // Reported rather than thrown, so it does not hide the error that ended the run.
        process.exitCode = 1;
        console.error(
          `could not drop schema ${benchSchema.schema} on ${benchSchema.where} (drop it by hand): ${error.message}`,
        );
      }
    },
  };
}

function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

// What a call returned, to tell whether both stores gave the same answer: the event ids of a page, or the dashboard.
function resultOf(result) {
  return 'events' in result ? result.events.map((event) => event.id).join(',') : JSON.stringify(result);
}

// One warm-up call (not counted), then RUNS timed calls, each with its own target.
async function timed(run) {
  await run(0);
  const times = [];
  const results = [];
  for (let index = 0; index < RUNS; index += 1) {
    stopIfInterrupted();
    const started = process.hrtime.bigint();
    const result = await run(index);
    times.push(elapsedMs(started));
    results.push(resultOf(result));
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), results };
}

const differing = [];
const ms = (value) => value.toFixed(1).padStart(8);
const sideBySide = (label, ...columns) =>
  `${label.padEnd(48)} ${columns[0].padStart(10)} ${columns[1].padStart(8)}  ${columns[2].padStart(14)} ${columns[3].padStart(8)}`;
// Each store runs the query's calls in a block of its own (SQLite first), so neither evicts the other's pages from
// the OS cache between two calls; the targets are the same.
async function measure(label, run) {
  const figures = [];
  for (const { store } of stores) figures.push(await timed((index) => run(store, index)));
  const [sqlite, postgresFigures] = figures;
  if (postgresFigures === undefined) {
    console.log(`${label.padEnd(48)} p50 ${ms(sqlite.p50)} ms   p95 ${ms(sqlite.p95)} ms`);
    return;
  }
  console.log(sideBySide(label, ms(sqlite.p50), ms(sqlite.p95), ms(postgresFigures.p50), ms(postgresFigures.p95)));
  const calls = sqlite.results.filter((result, index) => result !== postgresFigures.results[index]).length;
  if (calls > 0) differing.push(`${label} (${calls} of ${RUNS} calls)`);
}

function newest(store, text, limit, fromMs, toMs) {
  return store.search({ filter: parseQuery(text), fromMs, toMs, order: 'desc' }, { limit });
}
const quote = (value) => `"${value}"`;
function cidrOf(ip) {
  return ip.includes(':')
    ? `${ip.split(':').slice(0, 3).join(':')}::/48`
    : `${ip.split('.').slice(0, 3).join('.')}.0/24`;
}

// One dashboard load is one Store.dashboard call: counts over time, top users, apps, countries and IdPs, denials,
// the per-country map and new values, read from the hourly and daily summary with the partial hours at both ends
// counted from the events. Each run moves the window back an hour and 17 minutes, so the edges cut hours.
function dashboard(store, days, index) {
  const toMs = endMs - index * HOUR_MS - 17 * 60_000;
  return store.dashboard({ fromMs: toMs - days * DAY_MS, toMs, limit: 10 });
}

async function measureAll() {
  console.log(`${'runs per query'.padEnd(25)} ${RUNS} (after one warm-up), each with a different target`);
  if (stores.length > 1) {
    console.log(
      sideBySide('query (ms, the same targets for both stores)', 'SQLite p50', 'p95', 'PostgreSQL p50', 'p95'),
    );
  }
  await measure('user timeline (newest 100)', (store, index) =>
    newest(store, `user:${quote(samples[index].user_name)}`, 100),
  );
  await measure('IP timeline (newest 100)', (store, index) =>
    newest(store, `src_ip:${quote(samples[index].src_ip)}`, 100),
  );
  await measure('ray id lookup', (store, index) => newest(store, `ray_id:${samples[index].ray_id}`, 50));

  const dayFromMs = endMs - DAY_MS;
  const explore = [
    ['bare term (a user)', (sample) => quote(sample.user_name)],
    ['app AND outcome:failure', (sample) => `app:${quote(sample.app)} AND outcome:failure`],
    ['CIDR', (sample) => `src_ip:${cidrOf(sample.src_ip)}`],
    ['wildcard (user prefix)', (sample) => `user:${sample.user_name.slice(0, 4)}*`],
    ['NOT', (sample) => `NOT country:${sample.country}`],
  ];
  for (const [label, text] of explore) {
    await measure(`Explore 24 h, first 50: ${label}`, (store, index) =>
      newest(store, text(recentSamples[index]), 50, dayFromMs, endMs),
    );
  }

  await measure('dashboard 7 days', (store, index) => dashboard(store, 7, index));
  await measure('dashboard 180 days', (store, index) => dashboard(store, 180, index));
  if (stores.length > 1) {
    console.log(
      differing.length === 0
        ? 'results                   the same from both stores for every timed call'
        : `results                   differ between the stores: ${differing.join('; ')}`,
    );
  }
}

const sqliteStore = await SqliteStore.open({ path: dbPath });
const stores = [{ name: 'SQLite', store: sqliteStore }];
let postgres;
try {
  // A store generated by an older build gains the dashboard summary here (migration 0008 summarises what is stored).
  const migrateStarted = process.hrtime.bigint();
  await sqliteStore.migrate();
  console.log(`${labelled('migrate', 'SQLite')} ${elapsedS(migrateStarted).toFixed(1)} s`);
  let storedText = stored.toLocaleString('en-US');
  if (POSTGRES !== undefined) {
    postgres = await openPostgres(POSTGRES);
    const started = process.hrtime.bigint();
    await postgres.store.migrate();
    await generate(postgres.store, endMs, 'PostgreSQL');
    console.log(
      `${labelled('generation', 'PostgreSQL')} ${rate(elapsedS(started))} (normalize + append, batches of ${BATCH}, ` +
        `into schema ${postgres.schema} on ${postgres.where})`,
    );
    if (VACUUM) {
      const vacuumStarted = process.hrtime.bigint();
      await postgres.sql(`VACUUM (ANALYZE) ${postgres.tables}`);
      console.log(
        `${'vacuum'.padEnd(25)} ran: VACUUM (ANALYZE) of the events (every monthly partition) and the summary ` +
          `tables, ${elapsedS(vacuumStarted).toFixed(1)} s`,
      );
    } else {
      console.log(
        `${'vacuum'.padEnd(25)} not run (no --vacuum): PostgreSQL has the store's own ANALYZE after appends and ` +
          'whatever autovacuum reached',
      );
    }
    const { rows } = await postgres.sql('SELECT count(*) AS n FROM events');
    storedText = `SQLite ${storedText}, PostgreSQL ${Number(rows[0].n).toLocaleString('en-US')}`;
    stores.push({ name: 'PostgreSQL', store: postgres.store });
  } else if (VACUUM) {
    console.log(`${'vacuum'.padEnd(25)} not run (it applies to PostgreSQL, and no --postgres was given)`);
  }
  console.log(`${'events stored'.padEnd(25)} ${storedText} over 180 days to ${new Date(endMs).toISOString()}`);
  await measureAll();
} finally {
  await sqliteStore.close();
  if (postgres !== undefined) await postgres.close();
}
