#!/usr/bin/env node
// End-to-end ingest benchmark: the simulator (its own process, no artificial delay) serves N Access events and
// `zerotrail collect --once` stores them in SQLite. Prints events/s, CPU seconds per million events, peak RSS
// and requests per 1,000 events. Run after `npm run build`:  node bench/ingest.js [--events 1000000]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { parseQuery } from '../dist/store/query-language.js';
import { SqliteStore } from '../dist/store/sqlite/store.js';

const root = resolve(import.meta.dirname, '..');
const argEvents = process.argv.indexOf('--events');
const events = argEvents > 0 ? Number(process.argv[argEvents + 1]) : 1_000_000;
const HOUR_MS = 3_600_000;
const now = Date.now();

const simulatorOptions = {
  seed: 42,
  traffic: { kind: 'fixed', fromMs: now - 6 * 24 * HOUR_MS, toMs: now - HOUR_MS, count: events },
  rateLimit: { requests: 100_000_000, windowSecs: 300 },
  requestLogSize: 100,
};

const simulator = spawn(process.execPath, [join(root, 'dist/simulator/child.js')], {
  env: { ...process.env, ZEROTRAIL_SIMULATOR_OPTIONS: JSON.stringify(simulatorOptions) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const simulatorLines = createInterface({ input: simulator.stdout });
const nextLine = () =>
  new Promise((resolveLine) => simulatorLines.once('line', (line) => resolveLine(JSON.parse(line))));
const { baseUrl, token, accountId } = await nextLine();

const dataDir = mkdtempSync(join(tmpdir(), 'zerotrail-bench-'));
const env = {
  ...process.env,
  ZEROTRAIL_DATA_DIR: dataDir,
  CLOUDFLARE_API_BASE_URL: baseUrl,
  ZEROTRAIL_CF_RATE_LIMIT: '100000000/300',
  ZEROTRAIL_CF_RATE_SHARE: '1',
  BENCH_TOKEN: token,
};

function run(command, args) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) =>
      code === 0 ? resolveRun(stderr) : reject(new Error(`${args.join(' ')} exited ${code}\n${stderr}`)),
    );
  });
}

const bin = join(root, 'bin/zerotrail.js');
await run(process.execPath, [
  bin,
  'source',
  'add',
  '--name',
  'bench',
  '--account-id',
  accountId,
  '--token-env',
  'BENCH_TOKEN',
]);

const timeFile = join(dataDir, 'time.txt');
const started = process.hrtime.bigint();
await run('/usr/bin/time', [
  '-o',
  timeFile,
  '-f',
  '%e %U %S %M',
  process.execPath,
  ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
  bin,
  'collect',
  '--once',
  '--backfill-days',
  '7',
]);
const wallS = Number(process.hrtime.bigint() - started) / 1e9;
const [, userS, systemS, maxRssKb] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);

// The simulator shares the two cores with the collector; its CPU time says how much of the machine is left.
const [simUtime, simStime] = readFileSync(`/proc/${simulator.pid}/stat`, 'utf8')
  .split(') ')[1]
  .split(' ')
  .slice(11, 13)
  .map(Number);
const simulatorCpuS = (simUtime + simStime) / 100;
simulator.kill('SIGTERM');
const { stats } = await nextLine();
const ingestRequests = stats.requests - 2; // minus the token verification and permission probe of `source add`

const database = new Database(join(dataDir, 'zerotrail.db'), { readonly: true });
const stored = database.prepare('SELECT count(*) AS n FROM events').get().n;
// A busy user and a ray id from the middle of the data, for the read latencies below.
const { user_name: sampleUser } = database
  .prepare(
    'SELECT user_name, count(*) AS n FROM events WHERE user_name IS NOT NULL GROUP BY user_name ORDER BY n DESC LIMIT 1',
  )
  .get();
const { ray_id: sampleRay } = database
  .prepare('SELECT ray_id FROM events WHERE ray_id IS NOT NULL LIMIT 1 OFFSET ?')
  .get(Math.floor(stored / 2));
database.close();

// Read latency through the Store API, as the CLI and the server search: median of 20 runs after one warm-up.
const store = await SqliteStore.open({ path: join(dataDir, 'zerotrail.db') });
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
rmSync(dataDir, { recursive: true, force: true });

const cpuS = userS + systemS;
console.log(`events served / stored   ${events} / ${stored}`);
console.log(`wall time                 ${wallS.toFixed(2)} s (collect --once, process start to exit)`);
console.log(`throughput                ${Math.round(events / wallS).toLocaleString('en-US')} events/s`);
console.log(
  `CPU (collector)           ${cpuS.toFixed(2)} s = ${((cpuS / events) * 1e6).toFixed(2)} CPU s per million events`,
);
console.log(`peak RSS (collector)      ${(maxRssKb / 1024).toFixed(1)} MB`);
console.log(
  `requests                  ${ingestRequests} = ${((ingestRequests / events) * 1000).toFixed(3)} per 1,000 events`,
);
console.log(`CPU (simulator)           ${simulatorCpuS.toFixed(2)} s over its whole life, event generation included`);
console.log(`user timeline (100 rows)  ${userTimelineMs.toFixed(2)} ms median`);
console.log(`ray id lookup             ${rayLookupMs.toFixed(2)} ms median`);
