#!/usr/bin/env node
// Detection quality benchmark: the simulated organisation over about 31 days with labelled attacks injected (every
// kind, --per-kind times each), collected through the real pipeline: `zerotrail collect --once --backfill-days 30`
// into a temporary SQLite store, then a day of live collection in 2-hour steps (inventory snapshots see devices
// and changes happen). The built-in rules run as the collector stores the events. Then, per rule: attacks injected,
// attacks detected (recall), and the alerts that match no attack, per 100,000 benign events and per simulated week.
// The sensitive-application rule raises nothing until applications are listed, so the simulator's sensitive
// applications are listed first with `rules set zt-first-sensitive-app --value …`, as an operator would. The staff
// sign in from public addresses of their home countries and the attackers from abroad, so the rules that place an
// address (new country, impossible travel) judge them as they would real logs. Prints figures; asserts nothing.
// Run after `npm run build`:  node bench/detections.js [--per-kind 3] [--seed 7] [--events-per-day 4000]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../dist/cli/index.js';
import { ManualClock } from '../dist/core/clock.js';
import {
  DEFAULT_PERMISSIONS,
  DEFAULT_TOKEN,
  PERMISSIONS,
  SENSITIVE_APPLICATIONS,
  startSimulator,
} from '../dist/simulator/simulator.js';

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const PER_KIND = argument('per-kind', 3);
const SEED = argument('seed', 7);
// The simulator's default is 4,000 Access events a day; a small organisation is a few hundred.
const EVENTS_PER_DAY = argument('events-per-day', 4000);
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const LIVE_STEPS = 12;
const STEP_MS = 2 * HOUR_MS;
// A fixed start keeps every run the same: attacks fall in the last 14 days before it and the live day after it.
const START_MS = Date.parse('2026-11-02T12:00:00Z');
// An alert belongs to an attack when it names the attack's entity and its events lie this close to the attack's.
const SLACK_MS = 2 * HOUR_MS;

async function cli(args, env, clock) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = [];
  const err = [];
  stdout.on('data', (chunk) => out.push(chunk));
  stderr.on('data', (chunk) => err.push(chunk));
  const code = await runCli(
    args,
    { stdin: Readable.from([]), stdout, stderr, env, signal: new AbortController().signal },
    { clock },
  );
  const result = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  if (code !== 0) throw new Error(`zerotrail ${args.join(' ')} exited ${code}: ${result.stderr}`);
  return result;
}

// The /24 (IPv4) or /48 (IPv6) an address or network names, as alerts name a network.
function networkKey(value) {
  if (value.includes(':')) return value.replace(/::.*$/, '').split(':').slice(0, 3).join(':');
  return value.split('/')[0].split('.').slice(0, 3).join('.');
}

function sameNetwork(ip, entityIp) {
  if (ip === null || entityIp === null) return false;
  return ip === entityIp || networkKey(ip) === networkKey(entityIp);
}

/** Whether an alert is about an attack: its entity, or for organisation-wide attacks only its time. */
function matches(alert, scenario) {
  const first = Date.parse(alert.first_event_time);
  const last = Date.parse(alert.last_event_time);
  if (last < scenario.fromMs - SLACK_MS || first > scenario.toMs + SLACK_MS) return false;
  const { user, ip } = scenario.entity;
  if (user !== null) return alert.entity.user?.toLowerCase() === user.toLowerCase();
  if (ip !== null && scenario.kind !== 'config_tampering') return sameNetwork(ip, alert.entity.ip);
  return true;
}

const clock = new ManualClock(START_MS);
const simulator = await startSimulator({
  seed: SEED,
  clock,
  traffic: { kind: 'organic', eventsPerDay: EVENTS_PER_DAY },
  rateLimit: { requests: 1_000_000, windowSecs: 300 },
  tokens: [
    {
      value: DEFAULT_TOKEN,
      permissions: [
        ...DEFAULT_PERMISSIONS,
        PERMISSIONS.accessAppsAndPolicies,
        PERMISSIONS.accessScimLogs,
        PERMISSIONS.accountSettings,
      ],
    },
  ],
  attacks: { fromMs: START_MS - 14 * DAY_MS, toMs: START_MS + LIVE_STEPS * STEP_MS, perKind: PER_KIND },
});
const dir = mkdtempSync(join(tmpdir(), 'zerotrail-bench-detections-'));
const env = {
  ZEROTRAIL_DATA_DIR: dir,
  CLOUDFLARE_API_BASE_URL: simulator.baseUrl,
  ZEROTRAIL_CF_RATE_LIMIT: '1000000/300',
  ZEROTRAIL_CF_RATE_SHARE: '1',
  ZEROTRAIL_LOG_LEVEL: 'error',
  CF_TOKEN: simulator.token,
};
try {
  const began = performance.now();
  await cli(
    ['source', 'add', '--name', 'bench', '--account-id', simulator.accountId, '--token-env', 'CF_TOKEN'],
    env,
    clock,
  );
  // The applications only a few roles use, by name and by the domain Access logs name them with.
  const sensitive = [...SENSITIVE_APPLICATIONS];
  for (const app of simulator.inventory().apps)
    if (SENSITIVE_APPLICATIONS.includes(app.name)) sensitive.push(app.domain, app.domain.replace(/\/.*$/, ''));
  await cli(
    ['rules', 'set', 'zt-first-sensitive-app', ...sensitive.flatMap((value) => ['--value', value])],
    env,
    clock,
  );
  await cli(['collect', '--once', '--backfill-days', '30'], env, clock);
  for (let step = 0; step < LIVE_STEPS; step++) {
    clock.advance(STEP_MS);
    await cli(['collect', '--once'], env, clock);
  }
  const endMs = clock.now();
  const collectSecs = (performance.now() - began) / 1000;
  const alerts = JSON.parse((await cli(['alerts', 'list', '--format', 'json', '--limit', '10000'], env, clock)).stdout);
  const rules = JSON.parse((await cli(['rules', 'list', '--format', 'json'], env, clock)).stdout);

  const scenarios = simulator.attackScenarios();
  if (process.env.BENCH_DUMP) writeFileSync(process.env.BENCH_DUMP, JSON.stringify({ alerts, scenarios }, null, 1));
  const attackEvents =
    scenarios.reduce((sum, s) => sum + s.rayIds.length, 0) +
    scenarios.filter((s) => s.kind === 'config_tampering' || s.kind === 'deprovisioned_login').length;
  const historyFrom = START_MS - 30 * DAY_MS;
  const totalEvents =
    simulator.eventsBetween(historyFrom, endMs).length +
    simulator.scimUpdatesBetween(historyFrom, endMs).length +
    simulator.auditLogsBetween(historyFrom, endMs, 'v2').length;
  const benign = totalEvents - attackEvents;
  const weeks = (endMs - historyFrom) / (7 * DAY_MS);
  const scheduled = simulator.inventoryChanges();

  console.log(
    `seed ${SEED}, ${(weeks * 7).toFixed(1)} simulated days at about ${EVENTS_PER_DAY} Access events a day, ${scenarios.length} attacks (${PER_KIND} per kind)`,
  );
  console.log(
    `events: ${totalEvents} (Access, SCIM and audit logs), ${benign} benign; collected and evaluated in ${collectSecs.toFixed(0)} s`,
  );
  console.log(`path: the real pipeline (collect --once into SQLite, rules evaluated as events are stored)`);
  console.log(`zt-first-sensitive-app lists ${sensitive.join(', ')}`);
  console.log('');
  const ruleIds = [...new Set([...rules.map((r) => r.id), ...scenarios.map((s) => s.ruleId)])].sort();
  const rows = [];
  for (const ruleId of ruleIds) {
    const baseRule = ruleId;
    const ofRule = alerts.filter((alert) => alert.rule_id === ruleId);
    const injected = scenarios.filter((s) => s.ruleId === baseRule);
    const detected = injected.filter((s) => ofRule.some((alert) => matches(alert, s)));
    const attackAlerts = ofRule.filter((alert) => scenarios.some((s) => matches(alert, s)));
    // Configuration changes the simulated administrators made on schedule: real changes the rule is there to show.
    const planned = ofRule.filter(
      (alert) =>
        !attackAlerts.includes(alert) &&
        baseRule === 'zt-config-tampering' &&
        scheduled.some((c) => {
          // Inventory changes surface at the next snapshot, up to a live step later.
          const at = Date.parse(alert.first_event_time);
          return at >= c.atMs - 20 * MINUTE_MS && at <= c.atMs + STEP_MS + 20 * MINUTE_MS;
        }),
    );
    const falseAlerts = ofRule.length - attackAlerts.length - planned.length;
    const shipped = rules.some((r) => r.id === baseRule);
    rows.push([
      ruleId,
      shipped ? 'yes' : 'no',
      String(injected.length),
      `${detected.length}/${injected.length}` +
        (injected.length > 0 ? ` (${Math.round((100 * detected.length) / injected.length)}%)` : ''),
      String(falseAlerts),
      ((falseAlerts * 100_000) / benign).toFixed(2),
      (falseAlerts / weeks).toFixed(2),
      planned.length > 0 ? `${planned.length} scheduled admin changes` : '',
    ]);
    const missed = injected.filter((s) => !detected.includes(s));
    for (const s of missed) rows.push(['  missed', '', '', s.id, '', '', '', s.description]);
    for (const alert of ofRule.filter((a) => !attackAlerts.includes(a) && !planned.includes(a)).slice(0, 3))
      rows.push(['  false', '', '', '', '', '', '', alert.summary]);
  }
  const header = ['rule', 'shipped', 'injected', 'detected', 'false', 'per 100k benign', 'per week', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 7 ? 0 : r[i].length))));
  const line = (cells) => cells.map((c, i) => (i === 7 ? c : c.padEnd(widths[i]))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
} finally {
  await simulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
