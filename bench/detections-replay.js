#!/usr/bin/env node
// Detection CPU benchmark: N Access events are collected once into a SQLite store (`collect --once` from the
// simulator in its own process, kept in os.tmpdir()/zerotrail-bench-detect-<N> so a second run skips it). Each run
// then copies that store, clears every detection (state, offset, alerts) and runs the built-in rules over all of
// it with `Detector.catchUp`, in a worker thread with the detection thread's young generation and the heap growth
// the binary sets, as `collect` runs them. Prints CPU µs per event, wall time, alerts and peak RSS; asserts nothing.
// Run after `npm run build`:  node bench/detections-replay.js [--events 300000] [--young-mb 12] [--heap-growing 30]
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { DETECTION_YOUNG_GENERATION_MB } from '../dist/pipeline/detection-thread.js';
import { startSimulatorProcess } from './simulator-process.js';

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const EVENTS = argument('events', 300_000);
const YOUNG_MB = argument('young-mb', DETECTION_YOUNG_GENERATION_MB);
// src/main.ts sets 30 for every heap of the process, the detection thread's included.
const HEAP_GROWING = argument('heap-growing', 30);
const root = resolve(import.meta.dirname, '..');
const DATABASE = 'zerotrail.db';
const HOUR_MS = 3_600_000;

const filled = join(tmpdir(), `zerotrail-bench-detect-${EVENTS}`);
if (!existsSync(join(filled, DATABASE))) await fill(filled);

const runDir = mkdtempSync(join(tmpdir(), 'zerotrail-bench-detect-run-'));
try {
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(join(filled, DATABASE + suffix)))
      copyFileSync(join(filled, DATABASE + suffix), join(runDir, DATABASE + suffix));
  }
  const db = new Database(join(runDir, DATABASE));
  db.pragma('foreign_keys = OFF');
  for (const table of ['detection_state', 'detection_offsets', 'alert_evidence', 'alert_history', 'alerts']) {
    db.exec(`DELETE FROM ${table}`);
  }
  db.close();

  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING}`);
  const before = process.cpuUsage();
  const result = await replay(join(runDir, DATABASE));
  const used = process.cpuUsage(before);
  const cpuS = (used.user + used.system) / 1e6;
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  const row = (label, value) => console.log(`${label.padEnd(26)}${value}`);
  row('events evaluated', result.events.toLocaleString('en-US'));
  row('young generation', `${YOUNG_MB} MB, heaps grow by ${HEAP_GROWING}%`);
  row('wall time', `${(result.wallMs / 1000).toFixed(2)} s`);
  row(
    'CPU (whole process)',
    `${cpuS.toFixed(2)} s = ${((cpuS * 1e6) / Math.max(1, result.events)).toFixed(1)} µs per event`,
  );
  row('alerts created / updated', `${result.created} / ${result.updated}`);
  row('peak RSS', `${(Number(hwm?.[1] ?? 0) / 1024).toFixed(1)} MB`);
} finally {
  rmSync(runDir, { recursive: true, force: true });
}

// The rules in a thread with the detection thread's limits, on their own connection, as `collect` runs them.
function replay(path) {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { SqliteStore } = await import(workerData.root + '/dist/store/sqlite/store.js');
      const { Detector } = await import(workerData.root + '/dist/detect/detector.js');
      const { loadBuiltinRules } = await import(workerData.root + '/dist/detect/builtin-rules.js');
      const { silentLogger } = await import(workerData.root + '/dist/core/logger.js');
      const { systemClock } = await import(workerData.root + '/dist/core/clock.js');
      const { Metrics } = await import(workerData.root + '/dist/core/metrics.js');
      const store = await SqliteStore.open({ path: workerData.path, cacheKib: 4096, keepAppended: false });
      const deps = { store, logger: silentLogger(), clock: systemClock, metrics: new Metrics() };
      const started = performance.now();
      const result = await new Detector(deps, loadBuiltinRules()).catchUp();
      parentPort.postMessage({ ...result, wallMs: performance.now() - started });
      await store.close();
    })();
  `;
  return new Promise((resolveRun, reject) => {
    const worker = new Worker(code, {
      eval: true,
      workerData: { root, path },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB },
    });
    worker.once('message', resolveRun);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the replay thread exited with code ${code}`));
    });
  });
}

// Collects EVENTS events over six days from a simulator into `dir`, through the binary.
async function fill(dir) {
  const building = `${dir}.partial`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const now = Date.now();
  const options = {
    seed: 42,
    traffic: { kind: 'fixed', fromMs: now - 6 * 24 * HOUR_MS, toMs: now - HOUR_MS, count: EVENTS },
    rateLimit: { requests: 100_000_000, windowSecs: 300 },
    requestLogSize: 100,
  };
  const simulator = await startSimulatorProcess(options);
  try {
    const env = {
      ...process.env,
      CLOUDFLARE_API_BASE_URL: simulator.baseUrl,
      ZEROTRAIL_CF_RATE_LIMIT: '100000000/300',
      ZEROTRAIL_CF_RATE_SHARE: '1',
      ZEROTRAIL_DATA_DIR: building,
      CF_TOKEN: simulator.token,
    };
    const binary = join(root, 'bin/zerotrail.js');
    const add = ['source', 'add', '--name', 'bench', '--account-id', simulator.accountId, '--token-env', 'CF_TOKEN'];
    for (const args of [
      [...add, '--no-verify'],
      ['collect', '--once', '--backfill-days', '7'],
    ]) {
      const run = spawnSync(binary, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
      if (run.status !== 0) throw new Error(`zerotrail ${args[0]} exited ${run.status}`);
    }
    renameSync(building, dir);
  } finally {
    simulator.child.kill('SIGKILL');
  }
}
