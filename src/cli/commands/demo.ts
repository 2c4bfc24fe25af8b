import type { Command } from 'commander';
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { testSourceConnection, type App } from '../../app.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { InventoryKind } from '../../core/inventory.js';
import { splitJobId } from '../../core/job-id.js';
import { Secret } from '../../core/secret.js';
import type { SnapshotStored } from '../../pipeline/inventory-runner.js';
import type { PageStored } from '../../pipeline/runner.js';
import {
  DEFAULT_PERMISSIONS,
  DEFAULT_TOKEN,
  PERMISSIONS,
  startSimulator,
  type AttackScenarioKind,
  type AttackScenarioOptions,
  type Simulator,
} from '../../simulator/simulator.js';
import type { SearchField, SearchFilter } from '../../store/search-query.js';
import type { StoredSource } from '../../store/store.js';
import type { StoredAlert } from '../../store/detection-store.js';
import { addUser } from '../../server/auth/accounts.js';
import { issueLoginLink, LOGIN_LINK_TTL_MS, loginLinkUrl } from '../../server/auth/login-links.js';
import { randomToken } from '../../server/auth/tokens.js';
import type { AuthStore, UserRecord } from '../../store/auth-store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { wholeNumberText } from '../../core/number-text.js';
import { isListenError, listenRefused } from '../listen-refused.js';
import { reservePort, type PortReservation } from '../reserve-port.js';
import { writeLine } from '../io.js';
import { eventsToTable, renderTable, visible } from '../output.js';
import { ACCESS_LOG_RETENTION_DAYS } from '../../sources/cloudflare/datasets/catalogue.js';
import { collect, failureLines } from './collect.js';
import { failUnlessRequiredReadable } from '../../sources/cloudflare/connection-test.js';
import { printConnectionReport } from './source-test.js';
import { startWebServer, superviseCollection, webUiLine, type RunningWebServer } from './serve.js';

export const DEMO_SOURCE_NAME = 'Cloudflare Zero Trust Logs (demo)';
/** The admin the demo's one-time login link signs in; its password is random and never shown. */
export const DEMO_ADMIN = 'demo-admin';
// `zerotrail serve`'s default port; when it is taken the demo takes any free one rather than failing.
const DEMO_PORT = 8080;
const DEMO_HOST = '127.0.0.1';

const flagsSchema = z.object({
  port: wholeNumberText((n) => n.max(65_535)).optional(),
});

/** The base permissions plus every optional one, so that the demo collects every dataset. */
const DEMO_PERMISSIONS: readonly string[] = [
  ...DEFAULT_PERMISSIONS,
  PERMISSIONS.accessAppsAndPolicies,
  PERMISSIONS.accessScimLogs,
  PERMISSIONS.accountSettings,
];

// The shortest interval the config allows: the simulator's scheduled changes then show within a minute or so,
// where the default quarter hour would leave a demo watcher waiting.
const DEMO_INVENTORY_INTERVAL_SECS = 60;
const DAY_MS = 86_400_000;
const CHANGES_SHOWN = 5;
// Live attacks start once the backfill has had time to finish, and end within the demo's first minutes.
const LIVE_ATTACKS_FROM_MS = 20_000;
const LIVE_ATTACKS_TO_MS = 40_000;
const LIVE_ATTACK_KINDS: readonly AttackScenarioKind[] = [
  'brute_force',
  'password_spraying',
  'denied_then_allowed',
  'denied_burst',
  'config_tampering',
];
const ALERT_POLL_MS = 2_000;
const ALERTS_LISTED = 10_000;
const LIVE_CHANGES_SHOWN = 20;
const EXAMPLES_SHOWN = 3;
// The newest access events are the likeliest to be enriched: they were stored after the first snapshots.
const ENRICHMENT_CANDIDATES = 200;

/** What the summary shows of the inventory, in the order a reader meets them. */
const INVENTORY_LINES = [
  ['user', 'users'],
  ['identity_provider', 'identity providers'],
  ['group', 'groups'],
  ['gateway_rule', 'Gateway rules'],
  ['device', 'devices'],
  ['app', 'apps'],
  ['policy', 'policies'],
] as const satisfies readonly (readonly [InventoryKind, string])[];

/** The backfilled time range; it has no end because the summary is printed before live collection starts. */
interface BackfillWindow {
  readonly fromMs: number;
}

export function registerDemoCommand(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description(
      'Run zerotrail end to end on the built-in Cloudflare API simulator: backfill 7 days and snapshot the inventory, then follow live events and configuration changes',
    )
    .option('--port <port>', `port of the web UI on 127.0.0.1 (default ${DEMO_PORT}, or a free one when taken)`)
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(flagsSchema, rawFlags);
      const out = context.io.stdout;
      const demoSettings = { collect: { inventory_interval_secs: DEMO_INVENTORY_INTERVAL_SECS } };
      // Read before the simulator starts, so a broken config stops the demo before anything runs.
      context.loadConfig(demoSettings);
      // A port given that is in use is refused before the backfill, and before the data directory is made.
      const reservation = flags.port === undefined || flags.port === 0 ? undefined : await reserveDemoPort(flags.port);
      const signal = context.io.signal;
      try {
        // The simulator shares the command's clock, so the account's scheduled changes follow the collector's time.
        const simulator = await startSimulator({
          seed: 1,
          clock: context.clock,
          tokens: [{ value: DEFAULT_TOKEN, name: 'zerotrail demo', permissions: DEMO_PERMISSIONS }],
          attacks: demoAttacks(context.clock.now()),
        });
        try {
          // Every Cloudflare request of the demo goes to the simulator: a source added from the web UI or the API
          // too, which would otherwise meet the real API with the demo's token.
          const config = context.loadConfig({ ...demoSettings, cloudflare: { api_base_url: simulator.baseUrl } });
          writeLine(
            out,
            `zerotrail demo: a simulated Cloudflare Zero Trust account is answering at ${simulator.baseUrl}`,
          );
          writeLine(out, '(no Cloudflare account needed; every event below is synthetic)');
          writeLine(out, '');
          await context.withApp(async (app) => {
            const source = await addDemoSource(app, context, simulator);
            const days = Math.min(app.config.collect.backfillDays, ACCESS_LOG_RETENTION_DAYS);
            // What the backfill fetches: the collector starts `lookback_secs` early to catch late events.
            const backfill = { fromMs: app.clock.now() - days * DAY_MS - app.config.cloudflare.lookbackSecs * 1000 };
            const caughtUp = await collect(app, context, [source], { once: true, signal });
            if (signal.aborted) return;
            for (const line of failureLines(caughtUp.filter((item) => item.state === 'failed'))) {
              writeLine(context.io.stderr, line);
            }
            await printSummary(app, context, backfill, days);
            await serveAndFollow(app, context, simulator, { port: flags.port, reservation }, signal);
          }, config);
        } finally {
          await simulator.stop();
        }
      } finally {
        await reservation?.release();
      }
      writeLine(out, 'Demo stopped. The events and the inventory stay in the data directory; search them any time.');
    });
}

/**
 * The attacks the demo's organisation suffers: every kind somewhere in the backfilled week, and the ones that need
 * no long history again within the first minute of live collection, so a new user sees alerts raised live.
 */
function demoAttacks(nowMs: number): AttackScenarioOptions[] {
  return [
    { fromMs: nowMs - 6 * DAY_MS, toMs: nowMs - 2 * 3_600_000 },
    { fromMs: nowMs + LIVE_ATTACKS_FROM_MS, toMs: nowMs + LIVE_ATTACKS_TO_MS, kinds: LIVE_ATTACK_KINDS },
  ];
}

async function addDemoSource(app: App, context: CommandContext, simulator: Simulator): Promise<StoredSource> {
  const token = new Secret(simulator.token);
  // The simulator listens on a new port each run, so an earlier demo source is replaced; its events stay.
  const previous = await app.store.getSource(DEMO_SOURCE_NAME);
  const report = await testSourceConnection(app, { accountId: simulator.accountId, token, baseUrl: simulator.baseUrl });
  writeLine(context.io.stdout, `Connection test of the demo token (status ${report.token.status}):`);
  printConnectionReport(context.io, report, 'table');
  failUnlessRequiredReadable(report, 'run zerotrail demo again');
  const source: StoredSource = {
    name: DEMO_SOURCE_NAME,
    type: 'cloudflare_zero_trust',
    accountId: simulator.accountId,
    tokenCiphertext: app.secrets.encrypt(token),
    tokenLastFour: token.lastFour(),
    createdAt: previous?.createdAt ?? context.clock.now(),
    settings: { api_base_url: simulator.baseUrl },
  };
  if (previous !== undefined) await app.store.removeSource(DEMO_SOURCE_NAME);
  await app.store.saveSource(source);
  writeLine(context.io.stdout, '');
  writeLine(
    context.io.stdout,
    `Added data source "${DEMO_SOURCE_NAME}" (account ${simulator.accountId}); token stored encrypted.`,
  );
  return source;
}

async function printSummary(app: App, context: CommandContext, backfill: BackfillWindow, days: number): Promise<void> {
  const out = context.io.stdout;
  const ofSource = term('source', DEMO_SOURCE_NAME);
  const access = and(ofSource, term('dataset', 'access_requests'));
  const total = await app.store.count({ filter: access, ...backfill });
  const byOutcome = await app.store.aggregate({ filter: access, ...backfill, groupBy: 'outcome', limit: 10 });
  const topUsers = await app.store.aggregate({
    filter: and(access, term('outcome', 'failure')),
    ...backfill,
    groupBy: 'user',
    limit: 5,
  });
  // The simulated staff and attackers sign in from public addresses; the network denied most often is one an
  // attacker uses, so the hint below finds something whatever the seed.
  const [topDeniedIp] = await app.store.aggregate({
    filter: and(access, term('outcome', 'failure')),
    ...backfill,
    groupBy: 'src_ip',
    limit: 1,
  });
  writeLine(out, '');
  writeLine(out, `Stored ${total} Access authentication events (a ${days}-day backfill).`);
  writeLine(
    out,
    renderTable(
      ['outcome', 'events'],
      byOutcome.map((bucket) => [bucket.key ?? '-', String(bucket.count)]),
    ),
  );
  if (topUsers.length > 0) {
    writeLine(out, '');
    writeLine(out, 'Users with the most denied logins:');
    writeLine(
      out,
      renderTable(
        ['user', 'denied'],
        topUsers.map((bucket) => [visible(bucket.key ?? '-'), String(bucket.count)]),
      ),
    );
  }
  await printInventory(app, context);
  await printAdminActivity(app, context, backfill, days);
  await printEnrichedExample(app, context, access, backfill);
  await printAlertsPerRule(app, context, 'Alerts raised by the detection rules over the backfill:');

  const sample = await app.store.search({ filter: access, order: 'desc' }, { limit: 5 });
  writeLine(out, '');
  writeLine(out, 'Latest Access events:');
  writeLine(out, eventsToTable(sample.events));

  const dataDir = relative(process.cwd(), app.config.dataDir) || '.';
  const dirFlag = dataDir === 'zerotrail-data' ? '' : ` --data-dir ${dataDir}`;
  const someUser = topUsers[0]?.key ?? 'alice@example.com';
  writeLine(out, '');
  writeLine(out, 'Next commands to try (in another shell):');
  writeLine(out, `  npx zerotrail${dirFlag} search 'outcome:failure' --from -24h`);
  writeLine(out, `  npx zerotrail${dirFlag} search 'user:${visible(someUser)}' --from -7d --format ndjson`);
  writeLine(out, `  npx zerotrail${dirFlag} search '${deniedNetworkQuery(topDeniedIp?.key ?? null)}' --format csv`);
  writeLine(out, `  npx zerotrail${dirFlag} inventory users`);
  writeLine(out, `  npx zerotrail${dirFlag} search 'dataset:identity_providers'`);
  writeLine(out, `  npx zerotrail${dirFlag} source status`);
  writeLine(out, `  npx zerotrail${dirFlag} source list`);
}

async function printAlertsPerRule(app: App, context: CommandContext, title: string): Promise<void> {
  const out = context.io.stdout;
  const alerts = await app.store.listAlerts({ limit: ALERTS_LISTED });
  writeLine(out, '');
  if (alerts.length === 0) {
    writeLine(out, 'No alerts raised yet.');
    return;
  }
  const perRule = new Map<string, { title: string; severity: string; count: number }>();
  for (const alert of alerts) {
    const row = perRule.get(alert.ruleId) ?? { title: alert.title, severity: alert.severity, count: 0 };
    row.count += 1;
    perRule.set(alert.ruleId, row);
  }
  writeLine(out, title);
  writeLine(
    out,
    renderTable(
      ['rule', 'title', 'alerts'],
      [...perRule.entries()]
        .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1))
        .map(([ruleId, row]) => [ruleId, row.title, String(row.count)]),
    ),
  );
  writeLine(out, `See them with: npx zerotrail alerts list, or on the Alerts page of the web UI.`);
}

/** One short line for an alert raised while following live events. */
export function alertLine(alert: StoredAlert): string {
  return `alert: [${alert.severity}] ${alert.ruleId}: ${visible(alert.summary)}`;
}

async function printInventory(app: App, context: CommandContext): Promise<void> {
  const rows: string[][] = [];
  let takenAt = 0;
  for (const [kind, label] of INVENTORY_LINES) {
    const entities = await app.store.listInventory(kind, DEMO_SOURCE_NAME);
    for (const entity of entities) takenAt = Math.max(takenAt, entity.takenAt);
    const names = entities.slice(0, EXAMPLES_SHOWN).map((entity) => clip(visible(entity.name || entity.id), 32));
    const more = entities.length > EXAMPLES_SHOWN ? ', …' : '';
    rows.push([label, String(entities.length), `${names.join(', ')}${more}`]);
  }
  writeLine(context.io.stdout, '');
  writeLine(
    context.io.stdout,
    takenAt === 0 ? 'Inventory: no snapshot yet.' : `Inventory (snapshot of ${new Date(takenAt).toISOString()}):`,
  );
  writeLine(context.io.stdout, renderTable(['inventory', 'count', 'for example'], rows));
}

const auditChangeSchema = z.object({
  message: z.string().optional(),
  actor: z.object({ user: z.object({ email_addr: z.string().optional() }).optional() }).optional(),
  resources: z.array(z.object({ data: z.object({ scope: z.string().optional() }).optional() })).optional(),
});

async function printAdminActivity(
  app: App,
  context: CommandContext,
  backfill: BackfillWindow,
  days: number,
): Promise<void> {
  const out = context.io.stdout;
  const ofSource = term('source', DEMO_SOURCE_NAME);
  const scim = await app.store.count({ filter: and(ofSource, term('dataset', 'scim_updates')), ...backfill });
  const audit = and(ofSource, term('dataset', 'audit_logs'));
  const auditEntries = await app.store.count({ filter: audit, ...backfill });
  // A write to an account resource; a dashboard login is also a `create`, of the user's own session.
  const writes = and(audit, or(term('activity', 'create'), or(term('activity', 'update'), term('activity', 'delete'))));
  const page = await app.store.search({ filter: writes, order: 'asc', ...backfill }, { limit: 1000 });
  const changes = page.events.flatMap((event) => {
    const ocsf = auditChangeSchema.safeParse(event.ocsf);
    if (!ocsf.success || ocsf.data.resources?.some((resource) => resource.data?.scope === 'user') === true) return [];
    return [{ event, message: ocsf.data.message ?? event.activity, actor: ocsf.data.actor?.user?.email_addr }];
  });
  writeLine(out, '');
  writeLine(out, `Also stored: ${plural(scim, 'SCIM update')} and ${plural(auditEntries, 'audit log entry')}.`);
  if (changes.length === 0) {
    writeLine(out, `No configuration changes in the audit logs of the last ${days} days.`);
    return;
  }
  writeLine(out, `Configuration changes in the audit logs of the last ${days} days:`);
  for (const { event, message, actor } of changes.slice(0, CHANGES_SHOWN)) {
    const when = new Date(event.time).toISOString().slice(0, 16).replace('T', ' ');
    const failed = event.outcome === 'failure' ? ' (failed)' : '';
    writeLine(out, `  ${when}  ${visible(actor ?? event.user ?? 'unknown actor')}: ${visible(message)}${failed}`);
  }
  if (changes.length > CHANGES_SHOWN) writeLine(out, `  … and ${changes.length - CHANGES_SHOWN} more`);
}

const enrichmentsSchema = z.array(
  z.object({
    type: z.string(),
    data: z
      .object({
        name: z.string().optional(),
        type: z.string().optional(),
        domain: z.string().optional(),
        groups: z.array(z.object({ name: z.string() })).optional(),
      })
      .optional(),
  }),
);
type Enrichments = z.infer<typeof enrichmentsSchema>;

async function printEnrichedExample(
  app: App,
  context: CommandContext,
  access: SearchFilter,
  backfill: BackfillWindow,
): Promise<void> {
  const out = context.io.stdout;
  const page = await app.store.search(
    { filter: and(access, term('outcome', 'success')), order: 'desc', ...backfill },
    { limit: ENRICHMENT_CANDIDATES },
  );
  let best: { event: NormalizedEvent; enrichments: Enrichments } | undefined;
  for (const event of page.events) {
    const parsed = enrichmentsSchema.safeParse(event.ocsf['enrichments']);
    if (!parsed.success) continue;
    const types = new Set(parsed.data.map((item) => item.type));
    if (best === undefined || types.size > new Set(best.enrichments.map((item) => item.type)).size) {
      best = { event, enrichments: parsed.data };
    }
    if (['application', 'identity_provider', 'group_membership'].every((type) => types.has(type))) break;
  }
  writeLine(out, '');
  if (best === undefined) {
    writeLine(out, 'No Access event was enriched from the inventory yet.');
    return;
  }
  const { event, enrichments } = best;
  const of = (type: string): Enrichments[number]['data'] => enrichments.find((item) => item.type === type)?.data;
  const application = of('application');
  const idp = of('identity_provider');
  const person = of('user');
  const groups = enrichments.flatMap((item) =>
    item.type === 'group_membership' ? (item.data?.groups ?? []).map((group) => group.name) : [],
  );
  const detail = (name: string | undefined, ...extra: (string | undefined)[]): string => {
    const more = extra.filter((text): text is string => text !== undefined && text !== '');
    return visible(`${name ?? '-'}${more.length > 0 ? ` (${more.join(', ')})` : ''}`);
  };
  writeLine(out, 'An Access event enriched from the inventory (ocsf.enrichments):');
  writeLine(
    out,
    `  ${new Date(event.time).toISOString()}  ${visible(event.user ?? '-')}: ${event.activity}, ${event.outcome}`,
  );
  if (application !== undefined) {
    writeLine(out, `  app:               ${detail(application.name, application.type, application.domain)}`);
  }
  if (idp !== undefined) writeLine(out, `  identity provider: ${detail(idp.name, idp.type)}`);
  if (person !== undefined) writeLine(out, `  user:              ${detail(person.name)}`);
  if (groups.length > 0) writeLine(out, `  groups:            ${visible(groups.join(', '))}`);
}

/**
 * Runs the web server and the collector like `zerotrail serve` and prints the UI's address with a one-time
 * login link, then follows live events until `signal` aborts.
 */
async function serveAndFollow(
  app: App,
  context: CommandContext,
  simulator: Simulator,
  listening: DemoListening,
  signal: AbortSignal,
): Promise<void> {
  const out = context.io.stdout;
  let collector: ReturnType<typeof superviseCollection> | undefined;
  const web = await startDemoServer(app, listening, () => collector?.restart());
  try {
    const admin = await demoAdmin(web.auth, app.clock.now());
    const link = await issueLoginLink(web.auth, admin, app.clock.now());
    writeLine(out, '');
    writeLine(out, `zerotrail is serving the API on ${web.url}/api.`);
    writeLine(out, webUiLine(web.url, web.webBuilt));
    writeLine(
      out,
      `One-time login link (signs in as the admin "${admin.name}"; works once, within ${LOGIN_LINK_TTL_MS / 60_000} minutes):`,
    );
    writeLine(out, `  ${loginLinkUrl(web.url, link.token)}`);
    collector = followLive(app, context, simulator, signal);
    await collector.done;
  } finally {
    await web.close();
  }
}

/** The port `--port` gave, if any, and the hold on it taken at start (none for port 0, which any free port meets). */
interface DemoListening {
  readonly port: number | undefined;
  readonly reservation: PortReservation | undefined;
}

async function reserveDemoPort(port: number): Promise<PortReservation> {
  try {
    return await reservePort(DEMO_HOST, port);
  } catch (error) {
    throw isListenError(error) ? listenRefused(DEMO_HOST, port, error) : error;
  }
}

async function startDemoServer(
  app: App,
  { port, reservation }: DemoListening,
  onSourcesChanged: () => void,
): Promise<RunningWebServer> {
  const options = { host: DEMO_HOST, onSourcesChanged };
  if (port !== undefined) {
    await reservation?.release();
    return startWebServer(app, { ...options, port }).catch((error: unknown) => {
      throw isListenError(error) ? listenRefused(options.host, port, error) : error;
    });
  }
  try {
    return await startWebServer(app, { ...options, port: DEMO_PORT });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return startWebServer(app, { ...options, port: 0 });
  }
}

/** The demo's admin, created on the first run; a later run in the same data directory reuses it. */
async function demoAdmin(auth: AuthStore, nowMs: number): Promise<UserRecord> {
  const existing = await auth.userByName(DEMO_ADMIN);
  if (existing !== undefined) return existing;
  // Nobody needs this password: the login link is the way in, and an admin can set up real users in Settings.
  return addUser(auth, { name: DEMO_ADMIN, role: 'admin', password: randomToken() }, nowMs);
}

function followLive(
  app: App,
  context: CommandContext,
  simulator: Simulator,
  signal: AbortSignal,
): ReturnType<typeof superviseCollection> {
  const out = context.io.stdout;
  const nowMs = app.clock.now();
  const upcoming = simulator.inventoryChanges().filter((change) => change.atMs > nowMs);
  writeLine(out, '');
  writeLine(
    out,
    `Following live events now (new ones appear every few seconds); the inventory is snapshotted every ${app.config.collect.inventoryIntervalSecs} s.`,
  );
  if (upcoming.length > 0) {
    const last = Math.max(...upcoming.map((change) => change.atMs));
    writeLine(
      out,
      `The simulated administrators make ${plural(upcoming.length, 'configuration change')} by ${new Date(last).toISOString().slice(11, 16)} UTC; each prints as "change: …" after the next snapshot.`,
    );
  }
  writeLine(
    out,
    'Simulated attackers strike within the first minute; each alert the detection rules raise prints as "alert: …".',
  );
  writeLine(out, 'Press Ctrl-C to stop.');
  let live = 0;
  // Change events are read back from the store after each snapshot; the printing runs one snapshot at a time.
  let printing = Promise.resolve();
  const onPageStored = (page: PageStored): void => {
    if (page.inserted === 0) return;
    const { dataset } = splitJobId(page.jobId);
    if (dataset === 'access_requests') {
      live += page.inserted;
      writeLine(out, `+${plural(page.inserted, 'new Access event')} (${live} since the backfill)`);
    } else if (dataset === 'scim_updates') writeLine(out, `+${plural(page.inserted, 'new SCIM update')}`);
    else if (dataset === 'audit_logs') writeLine(out, `+${plural(page.inserted, 'new audit log entry')}`);
  };
  const onSnapshotStored = (snapshot: SnapshotStored): void => {
    if (snapshot.changes === 0) return;
    printing = printing
      .then(() => printChanges(app, context, snapshot))
      .catch((error: unknown) => app.logger.warn({ err: error }, 'Change events could not be shown'));
  };
  // Like `serve`: every stored source, restarted when one is added, changed or paused in the UI.
  const collector = superviseCollection(app, context, signal, { onPageStored, onSnapshotStored });
  const alerts = followAlerts(app, context, signal);
  return {
    restart: () => collector.restart(),
    done: collector.done.then(async () => {
      await printing;
      await alerts;
      await printAlertsPerRule(app, context, 'Alerts per rule:').catch((error: unknown) =>
        app.logger.warn({ err: error }, 'Alerts could not be listed'),
      );
    }),
  };
}

/** Prints each alert the rules raise from now on, one line each, until `signal` aborts. */
async function followAlerts(app: App, context: CommandContext, signal: AbortSignal): Promise<void> {
  const seen = new Set<string>();
  const poll = async (print: boolean): Promise<void> => {
    const alerts = await app.store.listAlerts({ limit: ALERTS_LISTED });
    for (const alert of [...alerts].sort((a, b) => a.createdAt - b.createdAt)) {
      if (seen.has(alert.id)) continue;
      seen.add(alert.id);
      if (print) writeLine(context.io.stdout, alertLine(alert));
    }
  };
  try {
    await poll(false);
    while (!signal.aborted) {
      // An abort ends the wait early; the last poll still prints what the final evaluation raised.
      await sleep(ALERT_POLL_MS, undefined, { signal }).catch(() => undefined);
      await poll(true);
    }
  } catch (error) {
    app.logger.warn({ err: error }, 'Alerts could not be followed');
  }
}

async function printChanges(app: App, context: CommandContext, snapshot: SnapshotStored): Promise<void> {
  const { sourceName, dataset } = splitJobId(snapshot.jobId);
  const filter = and(term('source', sourceName), term('dataset', dataset));
  // Every change event of a snapshot carries the snapshot's time.
  const page = await app.store.search(
    { filter, order: 'asc', fromMs: snapshot.takenAt, toMs: snapshot.takenAt + 1 },
    { limit: LIVE_CHANGES_SHOWN },
  );
  for (const event of page.events) {
    const message = event.ocsf['message'];
    writeLine(context.io.stdout, `change: ${visible(typeof message === 'string' ? message : event.activity)}`);
  }
  if (snapshot.changes > page.events.length) {
    writeLine(context.io.stdout, `change: … and ${snapshot.changes - page.events.length} more`);
  }
}

/** The /24 around an IPv4 address as a search term and what else to match; without one, every denial. */
function deniedNetworkQuery(ip: string | null): string {
  const octets = ip === null ? null : /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$/.exec(ip);
  return octets?.[1] === undefined ? 'NOT outcome:success' : `src_ip:${octets[1]}.0/24 AND NOT outcome:success`;
}

function term(field: SearchField, value: string): SearchFilter {
  return { kind: 'term', field, value, wildcard: false };
}

function and(left: SearchFilter, right: SearchFilter): SearchFilter {
  return { kind: 'and', left, right };
}

function or(left: SearchFilter, right: SearchFilter): SearchFilter {
  return { kind: 'or', left, right };
}

function plural(count: number, noun: string): string {
  if (count === 1) return `${count} ${noun}`;
  return `${count} ${noun.endsWith('entry') ? `${noun.slice(0, -1)}ies` : `${noun}s`}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
