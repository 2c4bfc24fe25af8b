#!/usr/bin/env node
// End-to-end ingest benchmark: simulators (their own processes, no artificial delay) serve N Access events and
// `zerotrail collect --once` stores them. Prints events/s, CPU seconds per million events, peak RSS and requests
// per 1,000 events, then read latencies of the store it filled. Run after `npm run build`:
//   node bench/ingest.js [--events 1000000]                        one source, one node, embedded SQLite
//   node bench/ingest.js --database-url postgres://root@127.0.0.1/test   the same into a fresh PostgreSQL schema
//   node bench/ingest.js --sources 6 --nodes 3 [--database-url …]   six accounts shared by three collector nodes
//     (with --nodes, the nodes run `serve --role collector` and share the datasets through leases)
//   node bench/ingest.js --events 2000000 --days 12                 the events spread over 12 days instead of 6
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { openApp } from '../dist/app.js';
import { loadConfig } from '../dist/config/load.js';
import { silentLogger } from '../dist/core/logger.js';
import { systemClock } from '../dist/core/clock.js';
import { Secret } from '../dist/core/secret.js';
import { parseQuery } from '../dist/store/query-language.js';
import { SqliteStore } from '../dist/store/sqlite/store.js';
import { PostgresStore } from '../dist/store/postgres/store.js';
import { openBenchSchema } from './postgres-schema.js';
import { startSimulatorProcess } from './simulator-process.js';

const root = resolve(import.meta.dirname, '..');
function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const events = Number(option('events', '1000000'));
const sources = Math.max(1, Number(option('sources', '1')));
const nodes = Math.max(1, Number(option('nodes', '1')));
const serverUrl = option('database-url', undefined);
// The served events span this many days, ending an hour ago; the backfill reaches a day further back. The same
// events per day over more days is a longer backlog at the same density.
const days = Number(option('days', '6'));
if (!Number.isInteger(days) || days < 1 || days > 179) throw new Error('--days takes a whole number of days, 1 to 179');
const HOUR_MS = 3_600_000;
// BENCH_NODE_FLAGS (say "--cpu-prof --cpu-prof-dir=/tmp/prof") are added to the interpreter line of bin/zerotrail.js
// and the collectors run through env -S with that line: Node.js refuses some flags (--cpu-prof) in NODE_OPTIONS.
const binary = join(root, 'bin/zerotrail.js');
const interpreter = /^#!\/usr\/bin\/env -S (.+)$/m.exec(readFileSync(binary, 'utf8').split('\n')[0])?.[1];
if (interpreter === undefined) throw new Error('bin/zerotrail.js no longer starts with #!/usr/bin/env -S');
function binaryCommand(args) {
  const flags = process.env.BENCH_NODE_FLAGS;
  return flags ? ['/usr/bin/env', '-S', `${interpreter} ${flags}`, binary, ...args] : [binary, ...args];
}
const now = Date.now();

// One simulator process per source, each its own account with its share of the events.
const simulators = [];
// A failed run must not leave simulators behind.
process.on('exit', () => {
  for (const simulator of simulators) simulator.child.kill('SIGKILL');
});
for (let n = 0; n < sources; n += 1) {
  const count = Math.floor(events / sources) + (n < events % sources ? 1 : 0);
  const options = {
    seed: 42 + n,
    ...(sources > 1 ? { accountId: `${String(n).padStart(2, '0')}${'b'.repeat(30)}` } : {}),
    traffic: { kind: 'fixed', fromMs: now - days * 24 * HOUR_MS, toMs: now - HOUR_MS, count },
    rateLimit: { requests: 100_000_000, windowSecs: 300 },
    requestLogSize: 100,
  };
  simulators.push(await startSimulatorProcess(options));
}

const setupDir = mkdtempSync(join(tmpdir(), 'zerotrail-bench-'));
const benchSchema = serverUrl === undefined ? undefined : await openBenchSchema(serverUrl, 'zerotrail_bench');
const databaseUrl = benchSchema?.storeUrl;
const secretKey = randomBytes(32).toString('base64');
const baseEnv = {
  ...process.env,
  CLOUDFLARE_API_BASE_URL: simulators[0].baseUrl,
  ZEROTRAIL_CF_RATE_LIMIT: '100000000/300',
  ZEROTRAIL_CF_RATE_SHARE: '1',
  ZEROTRAIL_SECRET_KEY: secretKey,
  ...(databaseUrl === undefined ? {} : { ZEROTRAIL_DATABASE_URL: databaseUrl }),
};

// Sources are stored as `source add` stores them, each pointing at its own simulator.
const setup = await openApp(loadConfig({ env: { ...baseEnv, ZEROTRAIL_DATA_DIR: setupDir } }), {
  logger: silentLogger(),
  clock: systemClock,
  secretKey,
});
for (const [n, simulator] of simulators.entries()) {
  const token = new Secret(simulator.token);
  await setup.store.saveSource({
    name: `bench-${String(n).padStart(2, '0')}`,
    type: 'cloudflare_zero_trust',
    accountId: simulator.accountId,
    tokenCiphertext: setup.secrets.encrypt(token),
    tokenLastFour: token.lastFour(),
    createdAt: now,
    settings: { api_base_url: simulator.baseUrl },
  });
}
await setup.close();

function collect(n) {
  // SQLite nodes share the one database file of the setup directory; PostgreSQL nodes each get their own.
  const dataDir = databaseUrl === undefined ? setupDir : mkdtempSync(join(tmpdir(), `zerotrail-bench-node${n}-`));
  const timeFile = join(setupDir, `time-${n}.txt`);
  const args = [
    '-o',
    timeFile,
    '-f',
    '%e %U %S %M',
    // Executed as `npx zerotrail` executes it, so the Node.js flags on its interpreter line apply.
    ...binaryCommand(['collect', '--once', '--backfill-days', String(days + 1)]),
  ];
  return new Promise((resolveRun, reject) => {
    const child = spawn('/usr/bin/time', args, {
      env: { ...baseEnv, ZEROTRAIL_DATA_DIR: dataDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`collect on node ${n} exited ${code}\n${stderr}`));
      const [, userS, systemS, maxRssKb] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
      if (dataDir !== setupDir) rmSync(dataDir, { recursive: true, force: true });
      resolveRun({ cpuS: userS + systemS, maxRssKb });
    });
  });
}

// Several nodes share the datasets through leases. A `collect --once` claims every free lease (it is a catch-up
// run, not a fair sharer), so the first of N would take all the work; the nodes run as `serve --role collector`
// instead, each with its share, until the store holds every served Access event.
async function storedAccessEvents() {
  if (databaseUrl === undefined) {
    const database = new Database(join(setupDir, 'zerotrail.db'), { readonly: true, timeout: 5000 });
    const count = (table) =>
      database.prepare(`SELECT count(*) AS n FROM ${table} WHERE dataset = 'access_requests'`).get().n;
    try {
      // The recent tier and the indexed table, read in one transaction so a merge between them counts nothing twice.
      return database.transaction(() => count('events') + count('events_recent'))();
    } finally {
      database.close();
    }
  }
  return Number(
    (await benchSchema.query("SELECT count(*) AS n FROM events WHERE dataset = 'access_requests'")).rows[0].n,
  );
}

function procFigures(pid) {
  const [utime, stime] = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).map(Number);
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS: (utime + stime) / 100, maxRssKb: Number(hwm?.[1] ?? 0) };
}

async function follow(count) {
  const children = Array.from({ length: count }, (_, n) => {
    const dataDir = databaseUrl === undefined ? setupDir : mkdtempSync(join(tmpdir(), `zerotrail-bench-node${n}-`));
    const [command, ...args] = binaryCommand(['serve', '--role', 'collector']);
    const child = spawn(command, args, {
      env: { ...baseEnv, ZEROTRAIL_DATA_DIR: dataDir, ZEROTRAIL_COLLECT__BACKFILL_DAYS: String(days + 1) },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    return { child, dataDir };
  });
  try {
    while ((await storedAccessEvents()) < events) {
      if (children.some(({ child }) => child.exitCode !== null)) throw new Error('a collector node exited early');
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
    return children.map(({ child }) => procFigures(child.pid));
  } finally {
    for (const { child, dataDir } of children) {
      child.kill('SIGKILL');
      if (dataDir !== setupDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

const following = process.argv.includes('--nodes');
const started = process.hrtime.bigint();
const runs = following ? await follow(nodes) : await Promise.all([collect(0)]);
const wallS = Number(process.hrtime.bigint() - started) / 1e9;

// The simulators share the two cores with the collectors; their CPU time says how much of the machine was left.
let simulatorCpuS = 0;
let requests = 0;
for (const simulator of simulators) {
  const [utime, stime] = readFileSync(`/proc/${simulator.child.pid}/stat`, 'utf8')
    .split(') ')[1]
    .split(' ')
    .slice(11, 13)
    .map(Number);
  simulatorCpuS += (utime + stime) / 100;
  simulator.child.kill('SIGTERM');
  requests += (await simulator.nextLine()).stats.requests;
}

// A busy user and a ray id from the middle of the data, for the read latencies below.
let stored;
let sampleUser;
let sampleRay;
let storeBytes;
if (databaseUrl === undefined) {
  // Everything the collector wrote (bodies, both tiers, detection state, the summary), WAL included.
  const files = ['zerotrail.db', 'zerotrail.db-wal'].map((name) => join(setupDir, name)).filter(existsSync);
  storeBytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  const database = new Database(join(setupDir, 'zerotrail.db'), { readonly: true });
  stored = database.prepare('SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM events_recent) AS n').get().n;
  sampleUser = database
    .prepare(
      'SELECT user_name, count(*) AS n FROM events WHERE user_name IS NOT NULL GROUP BY user_name ORDER BY n DESC LIMIT 1',
    )
    .get().user_name;
  sampleRay = database
    .prepare('SELECT ray_id FROM events WHERE ray_id IS NOT NULL LIMIT 1 OFFSET ?')
    .get(Math.floor(stored / 2)).ray_id;
  database.close();
} else {
  stored = Number((await benchSchema.query('SELECT count(*) AS n FROM events')).rows[0].n);
  sampleUser = (
    await benchSchema.query(
      'SELECT user_name, count(*) AS n FROM events WHERE user_name IS NOT NULL GROUP BY user_name ORDER BY n DESC LIMIT 1',
    )
  ).rows[0].user_name;
  sampleRay = (
    await benchSchema.query('SELECT ray_id FROM events WHERE ray_id IS NOT NULL LIMIT 1 OFFSET $1', [
      Math.floor(stored / 2),
    ])
  ).rows[0].ray_id;
}

// Read latency through the Store API, as the CLI and the server search: median of 20 runs after one warm-up.
const store =
  databaseUrl === undefined
    ? await SqliteStore.open({ path: join(setupDir, 'zerotrail.db') })
    : await PostgresStore.open({ url: databaseUrl });
async function medianMs(queryText) {
  const query = { filter: parseQuery(queryText), order: 'desc' };
  const times = [];
  for (let index = 0; index <= 20; index += 1) {
    const started = process.hrtime.bigint();
    await store.search(query, { limit: 100 });
    if (index > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b)[10];
}
const userTimelineMs = await medianMs(`user:"${sampleUser}"`);
const rayLookupMs = await medianMs(`ray_id:${sampleRay}`);
await store.close();
await benchSchema?.drop();
rmSync(setupDir, { recursive: true, force: true });

// Each source's token verification is not counted: the setup stored the sources without one.
const cpuS = runs.reduce((sum, run) => sum + run.cpuS, 0);
const peakRssMb = Math.max(...runs.map((run) => run.maxRssKb)) / 1024;
console.log(`store                     ${databaseUrl === undefined ? 'SQLite' : 'PostgreSQL'}`);
console.log(`sources / nodes           ${sources} / ${nodes}`);
console.log(`events served / stored   ${events} / ${stored}`);
console.log(`events span               ${days} days (backfill of ${days + 1})`);
console.log(
  `wall time                 ${wallS.toFixed(2)} s (${following ? 'serve --role collector nodes, start to every Access event stored' : 'collect --once, process start to exit'})`,
);
console.log(`throughput                ${Math.round(events / wallS).toLocaleString('en-US')} events/s`);
console.log(
  `CPU (collectors)          ${cpuS.toFixed(2)} s = ${((cpuS / events) * 1e6).toFixed(2)} CPU s per million events`,
);
console.log(`peak RSS (per collector)  ${peakRssMb.toFixed(1)} MB`);
if (storeBytes !== undefined) {
  console.log(
    `store files               ${(storeBytes / 1048576).toFixed(1)} MB = ${Math.round(storeBytes / stored).toLocaleString('en-US')} bytes per event`,
  );
}
console.log(`requests                  ${requests} = ${((requests / events) * 1000).toFixed(3)} per 1,000 events`);
console.log(`CPU (simulators)          ${simulatorCpuS.toFixed(2)} s over their whole life, event generation included`);
console.log(`user timeline (100 rows)  ${userTimelineMs.toFixed(2)} ms median`);
console.log(`ray id lookup             ${rayLookupMs.toFixed(2)} ms median`);
