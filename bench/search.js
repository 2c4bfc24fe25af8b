#!/usr/bin/env node
// Search latency benchmark: a store of N Access events over 180 days, written straight through the normalizer and
// SqliteStore as the collector writes them, then the reads the server makes: timelines, a ray id lookup, Explore's
// first page over 24 hours and the dashboard. Prints p50/p95 per query; it asserts nothing.
// Run after `npm run build`:  node bench/search.js [--events 10000000] [--seed 7] [--runs 20]
// The generated database is kept in os.tmpdir()/zerotrail-bench-search-<N>-<seed>, so a second run skips generation.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NORMALIZERS } from '../dist/normalize/registry.js';
import { parseQuery } from '../dist/store/query-language.js';
import { SqliteStore } from '../dist/store/sqlite/store.js';

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const EVENTS = argument('events', 10_000_000);
const SEED = argument('seed', 7);
const RUNS = Math.max(20, argument('runs', 20));
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

async function generate(path, endMs) {
  const random = generator(SEED);
  const { ipsByCountry, users, apps } = world(random);
  const userWeights = zipf(users.length, 0.9);
  const appWeights = zipf(apps.length, 1.1);
  const store = await SqliteStore.open({ path });
  await store.migrate();
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
    }
    if ((index + 1) % 1_000_000 === 0) process.stderr.write(`  ${(index + 1).toLocaleString('en-US')} events\n`);
  }
  await store.close();
}

const cacheDir = join(tmpdir(), `zerotrail-bench-search-${EVENTS}-${SEED}`);
const dbPath = join(cacheDir, 'zerotrail.db');
const metaPath = join(cacheDir, 'meta.json');
if (existsSync(metaPath)) {
  console.log(`store                     reused ${dbPath}`);
} else {
  // Generated beside the cache and renamed into place when complete, so an interrupted run is never reused.
  const partialDir = `${cacheDir}.partial`;
  rmSync(partialDir, { recursive: true, force: true });
  mkdirSync(partialDir, { recursive: true });
  const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const started = process.hrtime.bigint();
  await generate(join(partialDir, 'zerotrail.db'), endMs);
  const generationS = Number(process.hrtime.bigint() - started) / 1e9;
  writeFileSync(join(partialDir, 'meta.json'), JSON.stringify({ endMs, generationS }));
  rmSync(cacheDir, { recursive: true, force: true });
  renameSync(partialDir, cacheDir);
  console.log(
    `generation                ${generationS.toFixed(1)} s = ${Math.round(EVENTS / generationS).toLocaleString('en-US')} events/s (normalize + append, batches of ${BATCH})`,
  );
}
const { endMs } = JSON.parse(readFileSync(metaPath, 'utf8'));

// Targets are drawn from the stored rows (a random moment, the first event at or after it), read directly so the
// choice costs nothing in the figures below.
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

const store = await SqliteStore.open({ path: dbPath });
// A store generated by an older build gains the dashboard summary here (migration 0008 summarises what is stored).
const migrateStarted = process.hrtime.bigint();
await store.migrate();
console.log(`migrate                   ${(Number(process.hrtime.bigint() - migrateStarted) / 1e9).toFixed(1)} s`);
const quote = (value) => `"${value}"`;
const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;

function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

// One warm-up call (not counted), then RUNS timed calls, each with its own target.
async function measure(label, run) {
  await run(0);
  const times = [];
  for (let index = 0; index < RUNS; index += 1) {
    const started = process.hrtime.bigint();
    await run(index);
    times.push(elapsedMs(started));
  }
  times.sort((a, b) => a - b);
  const p50 = percentile(times, 0.5);
  const p95 = percentile(times, 0.95);
  console.log(`${label.padEnd(48)} p50 ${p50.toFixed(1).padStart(8)} ms   p95 ${p95.toFixed(1).padStart(8)} ms`);
  return { p50, p95 };
}

function newest(text, limit, fromMs, toMs) {
  return store.search({ filter: parseQuery(text), fromMs, toMs, order: 'desc' }, { limit });
}

console.log(
  `events stored             ${stored.toLocaleString('en-US')} over 180 days to ${new Date(endMs).toISOString()}`,
);
console.log(`runs per query            ${RUNS} (after one warm-up), each with a different target`);
await measure('user timeline (newest 100)', (index) => newest(`user:${quote(samples[index].user_name)}`, 100));
await measure('IP timeline (newest 100)', (index) => newest(`src_ip:${quote(samples[index].src_ip)}`, 100));
await measure('ray id lookup', (index) => newest(`ray_id:${samples[index].ray_id}`, 50));

const dayFromMs = endMs - DAY_MS;
const explore = [
  ['bare term (a user)', (sample) => quote(sample.user_name)],
  ['app AND outcome:failure', (sample) => `app:${quote(sample.app)} AND outcome:failure`],
  ['CIDR', (sample) => `src_ip:${cidrOf(sample.src_ip)}`],
  ['wildcard (user prefix)', (sample) => `user:${sample.user_name.slice(0, 4)}*`],
  ['NOT', (sample) => `NOT country:${sample.country}`],
];
function cidrOf(ip) {
  return ip.includes(':')
    ? `${ip.split(':').slice(0, 3).join(':')}::/48`
    : `${ip.split('.').slice(0, 3).join('.')}.0/24`;
}
for (const [label, text] of explore) {
  await measure(`Explore 24 h, first 50: ${label}`, (index) =>
    newest(text(recentSamples[index]), 50, dayFromMs, endMs),
  );
}

// One dashboard load is one Store.dashboard call: counts over time, top users, apps, countries and IdPs, denials,
// the per-country map and new values, read from the hourly and daily summary with the partial hours at both ends
// counted from the events. Each run moves the window back an hour and 17 minutes, so the edges cut hours.
async function dashboard(days, index) {
  const toMs = endMs - index * HOUR_MS - 17 * 60_000;
  await store.dashboard({ fromMs: toMs - days * DAY_MS, toMs, limit: 10 });
}
await measure('dashboard 7 days', (index) => dashboard(7, index));
await measure('dashboard 180 days', (index) => dashboard(180, index));
await store.close();
