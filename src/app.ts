import { accessSync, chmodSync, constants, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { rateShareShortfall } from './config/rate-share.js';
import type { AppConfig } from './config/schema.js';
import type { Clock } from './core/clock.js';
import { ConfigError, AppError, StoreError, isAppError } from './core/errors.js';
import type { NormalizedEvent } from './core/event.js';
import type { Logger } from './core/logger.js';
import { Metrics } from './core/metrics.js';
import type { Secret } from './core/secret.js';
import { SecretBox } from './core/secret-box.js';
import { loadBuiltinRules } from './detect/builtin-rules.js';
import { Detector, type DetectionRunner } from './detect/detector.js';
import { loadUserRules } from './detect/user-rules.js';
import { NORMALIZERS } from './normalize/registry.js';
import type { Normalizer } from './normalize/schema.js';
import type { InventoryCache } from './pipeline/inventory-cache.js';
import { DetectionThread } from './pipeline/detection-thread.js';
import { Forwarder, type ForwarderOptions } from './pipeline/forwarder.js';
import type { CollectionJob } from './pipeline/scheduler.js';
import { createSink } from './sinks/sink.js';
import { parseCloudflareConfig, type CloudflareConfig } from './sources/cloudflare/config.js';
import { cloudflareZeroTrustFactory, createCloudflareClient } from './sources/cloudflare/index.js';
import { testConnection, type ConnectionReport } from './sources/cloudflare/connection-test.js';
import { ACCESS_REQUESTS_DATASET } from './sources/cloudflare/datasets/access-requests.js';
import {
  CLOUDFLARE_DATASET_IDS,
  CLOUDFLARE_DATASETS,
  type CloudflareDatasetInfo,
} from './sources/cloudflare/datasets/catalogue.js';
import type { InventorySource, Source, SourceDatasets } from './sources/source.js';
import type { AuthStore } from './store/auth-store.js';
import type { NotifyQueue } from './store/notify-queue.js';
import { SqliteNotifyQueue } from './store/sqlite/notify-queue.js';
import { describeTarget, parseDatabaseUrl } from './store/postgres/database-url.js';
import type { UnfinishedImport } from './store/postgres/import-progress.js';
import type { PostgresStore } from './store/postgres/store.js';
import { MIGRATED_TABLES } from './store/migrate/tables.js';
import { SqliteAuthStore } from './store/sqlite/auth-store.js';
import { SqliteStore } from './store/sqlite/store.js';
import type { Store, StoredSource } from './store/store.js';
import { withIpCountry } from './pipeline/ip-country.js';
import { fileSystemProblem } from './core/file-error.js';
import { datasetJobId } from './core/job-id.js';
import { shellArgument } from './core/shell-argument.js';

export const DATABASE_FILE = 'zerotrail.db';
export const KEY_FILE = 'secret.key';
/** The setting that holds a value sealed with the installation's key, so a node given another key is told apart. */
export const KEY_CHECK_SETTING = 'secret_key_check';
export const KEY_CHECK_PLAIN = 'zerotrail-secret-key-check';

/** The opened installation: validated config, store, secret box and the shared runtime context. */
export interface App {
  readonly config: AppConfig;
  readonly store: Store;
  readonly secrets: SecretBox;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  /** Evaluates detection rules over stored events; collection notifies it after each stored batch. */
  readonly detector: DetectionRunner;
  close(): Promise<void>;
}

export interface OpenAppOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  /** ZEROTRAIL_SECRET_KEY, when the operator supplies the key instead of the data directory's key file. */
  readonly secretKey?: string | undefined;
  /** ZEROTRAIL_SECRET_KEY_FILE: a key file at another path, so several nodes can be given the same key. */
  readonly secretKeyFile?: string | undefined;
  /**
   * 'thread' runs the detector in a worker thread on its own store connection (the binary does, so rules take
   * the second core); 'inline' (the default) runs it on this thread with this clock, as tests need.
   */
  readonly detection?: 'inline' | 'thread';
}

/**
 * Composition root: prepares the data directory, opens and migrates the store, and loads the key that
 * encrypts stored tokens, refusing a key that differs from the one the installation was set up with.
 */
export async function openApp(config: AppConfig, options: OpenAppOptions): Promise<App> {
  // Read before anything is made, so a key given wrongly in the environment leaves no new data directory behind.
  const supplied = suppliedKey(options.secretKey, options.secretKeyFile);
  prepareDataDir(config.dataDir);
  // Read before the store opens: a broken rule file in <data dir>/rules stops startup with its RULE_INVALID.
  const builtinRules = loadBuiltinRules();
  const rules = [...builtinRules, ...loadUserRules(config.dataDir, builtinRules).map((rule) => rule.definition)];
  const threaded = options.detection === 'thread';
  // Read before the store opens, so an unreadable key leaves no new database behind.
  const keyPath = join(config.dataDir, KEY_FILE);
  const key = supplied ?? readKeyFile(keyPath);
  const databasePath = join(config.dataDir, DATABASE_FILE);
  const postgres =
    config.databaseUrl === undefined
      ? undefined
      : await (
          await import('./store/postgres/store.js')
        ).PostgresStore.open({
          url: config.databaseUrl,
          logger: options.logger,
        });
  const store =
    postgres ?? (await SqliteStore.open({ path: databasePath, logger: options.logger, keepAppended: !threaded }));
  try {
    await store.migrate();
    const shared = config.databaseUrl !== undefined;
    let secrets: SecretBox;
    let keyMade = false;
    if (key === undefined) {
      await refuseMissingKey(store, keyPath);
      // Made when the first token is encrypted: a command that stores no secret (a refused one, a search, a
      // listing) leaves no key behind.
      secrets = new SecretBox(() => {
        // Another process may have made it since this one started.
        const existing = readKeyFile(keyPath);
        if (existing !== undefined) return existing;
        const created = createKeyFile(keyPath);
        keyMade = created.made;
        return created.key;
      });
    } else {
      secrets = new SecretBox(key);
      // While a store migrate is copying in, the installation's own check value is on its way: setting another
      // one here would stay and lock out every node started with the installation's key.
      const migrating = postgres !== undefined && (await unfinishedImportsOf(postgres)).length > 0;
      await checkSecretKey(store, secrets, shared, !migrating);
    }
    options.logger.debug({ dataDir: config.dataDir }, 'Installation opened');
    const metrics = new Metrics();
    const detector: DetectionRunner = threaded
      ? new DetectionThread({
          data: {
            dataDir: config.dataDir,
            databasePath,
            ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }),
            logLevel: options.logger.level,
          },
          logger: options.logger,
          metrics,
        })
      : new Detector({ store, logger: options.logger, clock: options.clock, metrics }, rules);
    return {
      config,
      store,
      secrets,
      logger: options.logger,
      clock: options.clock,
      metrics,
      detector,
      close: async () => {
        // Events stored since the last pass are evaluated before the store closes, for a few seconds at most.
        await detector.close();
        // The check value joins a key made during this run, so the next node given another key is told apart by it.
        if (keyMade) {
          await checkSecretKey(store, secrets, shared, true).catch((error: unknown) => {
            options.logger.warn({ err: error }, 'Secret key check value not stored; the next start stores it');
          });
        }
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * Whether nothing has been stored yet: the data directory holds no database, or the configured PostgreSQL
 * database no zerotrail tables. A command about something stored refuses at once then, since opening the
 * installation would create the database, its tables (or the data directory) only to find nothing in them.
 */
export async function installationIsNew(config: AppConfig): Promise<boolean> {
  if (config.databaseUrl !== undefined) {
    return (await import('./store/postgres/installation.js')).postgresInstallationIsNew(config.databaseUrl);
  }
  try {
    statSync(join(config.dataDir, DATABASE_FILE));
    return false;
  } catch (error) {
    // A data directory that cannot be looked into is not known to be empty; opening it says what is wrong.
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function prepareDataDir(dataDir: string): void {
  const unusable = (problem: string, cause: unknown): ConfigError =>
    new ConfigError('CONFIG_DATA_DIR_UNUSABLE', {
      message: `The data directory ${dataDir} cannot be used: ${problem}.`,
      hint: 'Choose another one with --data-dir or ZEROTRAIL_DATA_DIR, or give this user read and write access to it.',
      cause,
    });
  // Each missing level is made here rather than by mkdirSync's recursive mode, which on Node.js 20 spins at full
  // CPU forever on a path it cannot create, such as /proc/x, and ignores SIGTERM while it does.
  const levels: string[] = [];
  try {
    // A file in the way is left to mkdir, whose EEXIST (or stat's ENOTDIR above it) names the problem.
    let level = dataDir;
    while (statSync(level, { throwIfNoEntry: false })?.isDirectory() !== true) {
      levels.unshift(level);
      const parent = dirname(level);
      if (parent === level) break;
      level = parent;
    }
    for (const level of levels) makeDirectory(level);
  } catch (error) {
    const { code, syscall, path } = error as NodeJS.ErrnoException;
    // A virtual file system such as /proc answers "no such file" for a directory made in a parent that exists.
    if (code === 'ENOENT' && syscall === 'mkdir' && path !== undefined) {
      throw unusable(`no directory can be made in ${dirname(path)}`, error);
    }
    throw unusable(fileSystemProblem(error), error);
  }
  try {
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    // Even a search writes there: SQLite keeps its write-ahead log and shared-memory files beside the database.
    throw unusable(
      `this user may not ${denied(dataDir)} in it, and every command needs both, searches included, since SQLite keeps its journal files (zerotrail.db-wal, zerotrail.db-shm) beside the database`,
      error,
    );
  }
}

// Which of read and write (with lookup) the directory refuses this user, as words.
function denied(dir: string): string {
  const allowed = (mode: number): boolean => {
    try {
      accessSync(dir, mode);
      return true;
    } catch {
      return false;
    }
  };
  const read = allowed(constants.R_OK | constants.X_OK);
  const write = allowed(constants.W_OK | constants.X_OK);
  return read && !write ? 'write' : !read && write ? 'read' : 'read and write';
}

function makeDirectory(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    // Another process made it a moment ago: as good as made here.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(path).isDirectory()) return;
    throw error;
  }
}

/** ZEROTRAIL_SECRET_KEY, or the file ZEROTRAIL_SECRET_KEY_FILE names; undefined when neither is set. */
function suppliedKey(suppliedText: string | undefined, keyFile: string | undefined): Buffer | undefined {
  if (suppliedText !== undefined && suppliedText !== '')
    return SecretBox.parseKey(suppliedText, 'The secret key in ZEROTRAIL_SECRET_KEY');
  if (keyFile === undefined || keyFile === '') return undefined;
  const key = readKeyFile(
    keyFile,
    'Point ZEROTRAIL_SECRET_KEY_FILE at the key file every node of this installation shares.',
  );
  if (key === undefined) {
    throw new AppError('SECRET_KEY_INVALID', {
      message: `The secret key file ${keyFile} named by ZEROTRAIL_SECRET_KEY_FILE does not exist.`,
      hint: 'Point ZEROTRAIL_SECRET_KEY_FILE at the key file every node of this installation shares.',
    });
  }
  return key;
}

/** The key in the file at `path`, or undefined when there is no such file. */
function readKeyFile(
  path: string,
  hint = `Put this installation's ${KEY_FILE} there, or give its key with ZEROTRAIL_SECRET_KEY or ZEROTRAIL_SECRET_KEY_FILE.`,
): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('SECRET_KEY_INVALID', {
      message: `The secret key file ${path} cannot be read: ${fileSystemProblem(error)}.`,
      hint,
      cause: error,
    });
  }
  try {
    return SecretBox.parseKey(text);
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw new AppError('SECRET_KEY_INVALID', {
      message: `The secret key file ${path} holds no usable key. ${error.message}`,
      hint,
      cause: error,
    });
  }
}

/** A new key in a new file at `path`; `made` is false when another process made the file first. */
function createKeyFile(path: string): { readonly key: Buffer; readonly made: boolean } {
  const key = SecretBox.generateKey();
  try {
    // `wx` refuses to overwrite a key another process created a moment ago; losing a key loses every token.
    writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const existing = (error as NodeJS.ErrnoException).code === 'EEXIST' ? readKeyFile(path) : undefined;
    if (existing !== undefined) return { key: existing, made: false };
    throw new ConfigError('CONFIG_DATA_DIR_UNUSABLE', {
      message: `The secret key file ${path} cannot be written: ${fileSystemProblem(error)}.`,
      hint: 'Give this user write access to the data directory, or give the key with ZEROTRAIL_SECRET_KEY or ZEROTRAIL_SECRET_KEY_FILE.',
      cause: error,
    });
  }
  chmodSync(path, 0o600);
  return { key, made: true };
}

/**
 * Without a key file, a new key is made only for an installation that holds nothing encrypted yet. One whose
 * key file went missing (a copied data directory) would otherwise get a new key that opens none of its tokens.
 */
async function refuseMissingKey(store: Store, keyPath: string): Promise<void> {
  const sources = await store.listSources();
  if (sources.length === 0 && (await store.getSetting(KEY_CHECK_SETTING)) === undefined) return;
  const held =
    sources.length === 0
      ? 'a value encrypted with the key of its installation'
      : `the tokens of ${sources.length} data source${sources.length === 1 ? '' : 's'}, encrypted with the key of its installation`;
  throw new AppError('SECRET_KEY_INVALID', {
    message:
      `The secret key file ${keyPath} is missing, but the database holds ${held}. ` +
      'No new key was made: it could not decrypt them.',
    hint:
      `Copy ${KEY_FILE} from the data directory of the original installation to ${keyPath} (readable by this ` +
      'user only: chmod 600), or give that key with ZEROTRAIL_SECRET_KEY or ZEROTRAIL_SECRET_KEY_FILE.',
  });
}

async function checkSecretKey(store: Store, secrets: SecretBox, shared: boolean, initialise: boolean): Promise<void> {
  let check = await store.getSetting(KEY_CHECK_SETTING);
  if (check === undefined && !initialise) return;
  let matches: boolean;
  try {
    if (check === undefined) {
      // A key made when the first token was stored has no check value yet; that token shows whether this is the
      // key, so a wrong one never becomes the check value that would lock out the right one.
      const [first] = await store.listSources();
      if (first !== undefined) secrets.decrypt(first.tokenCiphertext);
      await store.setSetting(KEY_CHECK_SETTING, secrets.encryptText(KEY_CHECK_PLAIN));
      // Read back: of two nodes setting up a shared database at once, the one whose value did not stay refuses.
      check = await store.getSetting(KEY_CHECK_SETTING);
    }
    matches = check !== undefined && secrets.decryptText(check) === KEY_CHECK_PLAIN;
  } catch (error) {
    // On its own data directory the box's own message (naming the secret.key file) says it best.
    if (!shared || !(error instanceof AppError) || error.code !== 'SECRET_KEY_INVALID') throw error;
    matches = false;
  }
  if (!matches) {
    throw new AppError('SECRET_KEY_INVALID', {
      message: shared
        ? 'The secret key differs from the one this database was set up with, so this node could not decrypt the stored tokens; it did not start.'
        : 'The secret key does not match this installation.',
      hint: shared
        ? 'Give every node the same key, with ZEROTRAIL_SECRET_KEY or ZEROTRAIL_SECRET_KEY_FILE.'
        : 'Start zerotrail with the key of this installation (the secret.key file in its data directory, or ZEROTRAIL_SECRET_KEY).',
    });
  }
}

/**
 * Refuses to run a node (collect, and serve in every role) on a PostgreSQL database that a `zerotrail store migrate`
 * is still copying into, or whose copy stopped part way: whatever the node collected or changed would mix into the
 * half-copied installation, make the copy's final count check fail, and searches would show part of the history as
 * if it were all. The migrate command itself does not call this, so it can resume the copy.
 */
export async function refuseUnfinishedMigration(app: App): Promise<void> {
  const open = await unfinishedMigration(app);
  if (open === undefined) return;
  throw new StoreError('STORE_MIGRATE_UNFINISHED', {
    message: `${describeUnfinished(app, open)} This node did not start, so that nothing it writes mixes into the half-copied installation.`,
    hint:
      `Finish the copy: run ${migrateAgain(app, open)} ` +
      'again (it resumes where it stopped) until it reports every table copied, then start this node.',
    details: { sourcePath: open.sourcePath, startedAt: open.startedAt, tablesDone: open.tablesDone },
  });
}

/**
 * For a command that only reads: a warning that what it shows is part of the history, when the database is a
 * copy that `zerotrail store migrate` has not finished; undefined otherwise.
 */
export async function unfinishedMigrationWarning(app: App): Promise<string | undefined> {
  const open = await unfinishedMigration(app);
  if (open === undefined) return undefined;
  return `${describeUnfinished(app, open)} What this shows is only what was copied so far; run ${migrateAgain(app, open)} again to finish it.`;
}

// The command that resumes the copy, without the database password.
function migrateAgain(app: App, open: UnfinishedImport): string {
  return `zerotrail store migrate --from ${open.sourcePath} --to '${withoutPassword(app.config.databaseUrl ?? '')}'`;
}

async function unfinishedMigration(app: App): Promise<UnfinishedImport | undefined> {
  const url = app.config.databaseUrl;
  if (url === undefined) return undefined;
  const { PostgresStore } = await import('./store/postgres/store.js');
  if (!(app.store instanceof PostgresStore)) return undefined;
  try {
    return (await unfinishedImportsOf(app.store))[0];
  } catch (error) {
    throw new StoreError('STORE_OPEN_FAILED', {
      message: `Could not read whether a store migrate into the database has finished: ${error instanceof Error ? error.message : String(error)}.`,
      cause: error,
    });
  }
}

function describeUnfinished(app: App, open: UnfinishedImport): string {
  const { target } = parseDatabaseUrl(app.config.databaseUrl ?? '');
  const at = (ms: number): string => new Date(ms).toISOString();
  return (
    `The zerotrail store migrate from ${open.sourcePath} into ${describeTarget(target)}, started ` +
    `${at(open.startedAt)}, has not finished: ${open.tablesDone} of ${MIGRATED_TABLES.length} tables copied, ` +
    `${open.progressedAt === null ? 'no chunk committed yet' : `last chunk committed ${at(open.progressedAt)}`}.`
  );
}

// PostgreSQL's modules are loaded only by an installation that uses it: an embedded one never holds them.
async function unfinishedImportsOf(store: PostgresStore): Promise<readonly UnfinishedImport[]> {
  return (await import('./store/postgres/import-progress.js')).unfinishedImports(store.pool);
}

// A database URL safe to print: the password, if any, left out for the operator to add back.
function withoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}

/**
 * Opens the users, sessions and audit trail beside the app's store: the same SQLite file or PostgreSQL
 * database, which the app's migrations prepared.
 */
export async function openAuthStore(app: App): Promise<AuthStore> {
  return app.config.databaseUrl === undefined
    ? SqliteAuthStore.open({ path: join(app.config.dataDir, DATABASE_FILE) })
    : (await import('./store/postgres/auth-store.js')).PostgresAuthStore.open({ url: app.config.databaseUrl });
}

/** Opens the notification queue beside the app's store, as the auth store is. */
export async function openNotifyQueue(app: App): Promise<NotifyQueue> {
  return app.config.databaseUrl === undefined
    ? SqliteNotifyQueue.open({ path: join(app.config.dataDir, DATABASE_FILE) })
    : (await import('./store/postgres/notify-queue.js')).PostgresNotifyQueue.open({ url: app.config.databaseUrl });
}

/** A running forwarder and what it holds open; `close` stops it and closes its queue. */
export interface RunningForwarder {
  readonly forwarder: Forwarder;
  close(): Promise<void>;
}

/**
 * Starts delivering alert notifications to the configured targets; undefined when none is configured. The app's
 * detector wakes it after committing alerts, so they go out at once rather than at the next poll.
 */
export async function startForwarder(
  app: App,
  signal: AbortSignal,
  options: Pick<ForwarderOptions, 'pollMs'> = {},
): Promise<RunningForwarder | undefined> {
  const targets = app.config.notify.targets;
  if (targets.length === 0) return undefined;
  const queue = await openNotifyQueue(app);
  const ctx = { logger: app.logger, clock: app.clock, metrics: app.metrics, signal };
  const forwarder = new Forwarder(
    { queue, logger: app.logger, clock: app.clock, metrics: app.metrics },
    targets.map((target) => ({ sink: createSink(target, ctx), minSeverity: target.minSeverity })),
    {
      ...options,
      ...(app.config.notify.linkBaseUrl === undefined ? {} : { linkBaseUrl: app.config.notify.linkBaseUrl }),
    },
  );
  forwarder.start();
  const stopWaking = app.detector.onAlerts(() => forwarder.poke());
  return {
    forwarder,
    close: async () => {
      stopWaking();
      await forwarder.stop();
      await queue.close();
    },
  };
}

export interface SourceConnection {
  readonly accountId: string;
  readonly token: Secret;
  readonly rateShare?: number;
  /** Overrides the configured API base URL for this source (the demo's simulator). */
  readonly baseUrl?: string;
}

/** What testing a connection needs of the app: not its store, so a token is tested before an installation exists. */
export type ConnectionTestContext = Pick<App, 'config' | 'logger' | 'clock' | 'metrics'>;

/**
 * Checks online that the token is active and reaches the account, then probes every dataset once and
 * reports, per dataset, whether it can be collected and which permission it would need.
 */
export async function testSourceConnection(
  app: ConnectionTestContext,
  connection: SourceConnection,
): Promise<ConnectionReport> {
  const config = cloudflareConfigFor(app, 'connection-test', connection);
  const client = createCloudflareClient(config, app);
  return testConnection(client, { signal: AbortSignal.timeout(CONNECTION_TEST_TIMEOUT_MS), nowMs: app.clock.now() });
}

// Every probe is one small request; a test that takes longer than this is better reported than awaited.
const CONNECTION_TEST_TIMEOUT_MS = 120_000;

/**
 * One pipeline job per dataset of each stored source, with the source's token decrypted only in memory.
 * Access events get their country from the IP dataset, and are enriched from `inventoryCache` when one is given.
 */
export function buildDatasetJobs(
  app: App,
  sources: readonly StoredSource[],
  inventoryCache?: InventoryCache,
  tokenShares: TokenShares = tokenRateShares(app, sources),
): readonly CollectionJob[] {
  const jobs: CollectionJob[] = [];
  for (const stored of sources) {
    const rateShare = tokenShares.shareOf(stored);
    const baseUrl = stored.settings['api_base_url'];
    // It gets no client, as the first client of a token sizes the budget every source of the token shares.
    const shareRefused = sourceRefusal(app.config, stored);
    let datasets: SourceDatasets;
    if (shareRefused === undefined) {
      const config = cloudflareConfigFor(app, stored.name, {
        accountId: stored.accountId,
        token: app.secrets.decrypt(stored.tokenCiphertext),
        rateShare,
        ...(typeof baseUrl === 'string' ? { baseUrl } : {}),
      });
      const signal = new AbortController().signal;
      // Each token's budget is kept in the store, so every process on it draws from one bucket: nodes sharing a
      // PostgreSQL database, and on SQLite a restarted collector, a cron `collect --once` beside `serve`, or a
      // crash loop, none of which may start over with a full bucket and spend the token's other users' share.
      datasets = cloudflareZeroTrustFactory.create(config, { ...app, signal, sharedRateBudget: app.store });
    } else {
      datasets = refusedDatasets(shareRefused);
    }
    for (const source of datasets.logs) {
      const normalize = (NORMALIZERS as Readonly<Record<string, Normalizer | undefined>>)[source.dataset];
      if (normalize === undefined) {
        throw new AppError('INTERNAL', { message: `No normalizer is registered for the dataset ${source.dataset}.` });
      }
      jobs.push({
        kind: 'log',
        id: datasetJobId(stored.name, source.dataset),
        sourceName: stored.name,
        accountId: stored.accountId,
        sourceCreatedAt: stored.createdAt,
        required: isRequiredDataset(source.dataset),
        source,
        normalize,
        ...retentionOf(source.dataset),
        ...(source.dataset === ACCESS_REQUESTS_DATASET
          ? {
              enrich: (event: NormalizedEvent) =>
                withIpCountry(inventoryCache === undefined ? event : inventoryCache.enrich(stored.name, event)),
            }
          : {}),
      });
    }
    for (const source of datasets.inventories) {
      jobs.push({
        kind: 'inventory',
        id: datasetJobId(stored.name, source.dataset),
        sourceName: stored.name,
        accountId: stored.accountId,
        sourceCreatedAt: stored.createdAt,
        required: isRequiredDataset(source.dataset),
        source,
      });
    }
  }
  return jobs;
}

// How far back Cloudflare keeps a log dataset, from the catalogue; nothing for a dataset it does not bound.
function retentionOf(dataset: string): { readonly retentionDays?: number } {
  const info = (CLOUDFLARE_DATASETS as Readonly<Record<string, CloudflareDatasetInfo | undefined>>)[dataset];
  return info?.retentionDays === undefined ? {} : { retentionDays: info.retentionDays };
}

/**
 * Why a stored source cannot be collected as configured, undefined when it can. A share stored with the source was
 * checked against the limit of its day, and the limit may be lower now. That fails this source alone: its datasets
 * report why where the operator looks, and the other sources collect.
 */
export function sourceRefusal(
  config: AppConfig,
  stored: Pick<StoredSource, 'name' | 'accountId' | 'settings'>,
): ConfigError | undefined {
  const rateShare = stored.settings['rate_share'];
  return typeof rateShare === 'number' ? rateShareRefusal(stored, rateShare, config.cloudflare.rateLimit) : undefined;
}

/** The rate share each source is held to, and the sources of one token that asked for different shares. */
export interface TokenShares {
  shareOf(stored: StoredSource): number;
  /** Sources sharing one token with different shares asked for, each group with the share all of them get. */
  readonly conflicts: readonly {
    readonly names: readonly string[];
    readonly asked: readonly number[];
    readonly held: number;
  }[];
}

/**
 * Cloudflare counts one limit per token, and zerotrail keeps one budget per token for everything that uses it, so
 * sources sharing a token (one user token for several accounts) cannot each have their own share: all are held to
 * the smallest any of them asks for, the one that keeps the customer's other tools working. `sources` should be
 * every stored source, so a run of some of them holds the token to what the others ask too. A source refused for
 * its share (sourceRefusal) collects nothing and is left out.
 */
export function tokenRateShares(app: Pick<App, 'config' | 'secrets'>, sources: readonly StoredSource[]): TokenShares {
  const asked = (stored: StoredSource): number => {
    const share = stored.settings['rate_share'];
    return typeof share === 'number' ? share : app.config.cloudflare.rateShare;
  };
  const byToken = new Map<string, StoredSource[]>();
  for (const stored of sources) {
    if (sourceRefusal(app.config, stored) !== undefined) continue;
    const token = app.secrets.decrypt(stored.tokenCiphertext).reveal();
    byToken.set(token, [...(byToken.get(token) ?? []), stored]);
  }
  const held = new Map<string, number>();
  const conflicts: TokenShares['conflicts'][number][] = [];
  for (const group of byToken.values()) {
    const shares = group.map(asked);
    const smallest = Math.min(...shares);
    for (const stored of group) held.set(stored.name, smallest);
    if (new Set(shares).size > 1) {
      conflicts.push({ names: group.map((stored) => stored.name), asked: shares, held: smallest });
    }
  }
  return { shareOf: (stored) => held.get(stored.name) ?? asked(stored), conflicts };
}

/** Why the stored rate share of `stored` cannot work with `limit`, and how to fix it; undefined when it works. */
function rateShareRefusal(
  stored: Pick<StoredSource, 'name' | 'accountId'>,
  share: number,
  limit: AppConfig['cloudflare']['rateLimit'],
): ConfigError | undefined {
  const shortfall = rateShareShortfall(share, limit);
  if (shortfall === undefined) return undefined;
  const gives = Number(shortfall.requestsPerWindow.toPrecision(2));
  const smallest = shortfall.smallestShare;
  const name = shellArgument(stored.name);
  // Dataset statuses keep the message and not the hint, so the message alone says what to change. It leaves out
  // the source's name: every place that shows it (status row, job id, log binding) names the source already.
  return new ConfigError('CONFIG_INVALID', {
    message:
      `Rate share ${share} gives ${gives} of ${limit.requests} requests per ${limit.windowSecs} seconds, less than one ` +
      `per window; the smallest share that works with this limit is ${smallest}. Remove the source and add it again ` +
      `with --rate-share ${smallest} or more (its stored events stay)` +
      (shortfall.smallestRequests === null
        ? '.'
        : `, or set ZEROTRAIL_CF_RATE_LIMIT (cloudflare.rate_limit) to ${shortfall.smallestRequests}/` +
          `${limit.windowSecs} or more if Cloudflare allows the token that many requests.`),
    hint:
      `zerotrail source remove ${name}, then printf %s "$TOKEN" | zerotrail source add --name ${name} ` +
      `--account-id ${stored.accountId} --token-stdin --rate-share ${smallest}; a running zerotrail collect or serve ` +
      'takes it up within 15 seconds.',
    details: { source: stored.name, rateShare: share, smallestShare: smallest },
  });
}

/**
 * The datasets of a source that cannot be collected as configured, opening no connection: each fails at its
 * first pull with `error`, on the path of any permanent failure (dataset status, error log, metric, the exit
 * status of `collect --once`).
 */
function refusedDatasets(error: AppError): SourceDatasets {
  const refusing = {
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
  const logs: Source[] = [];
  const inventories: InventorySource[] = [];
  for (const dataset of CLOUDFLARE_DATASET_IDS) {
    if (CLOUDFLARE_DATASETS[dataset].kind === 'log') {
      logs.push({
        ...refusing,
        dataset,
        initialCursor: () => ({}),
        pull: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) }),
      });
    } else {
      inventories.push({ ...refusing, dataset, kinds: [], snapshot: () => Promise.reject(error) });
    }
  }
  return { logs, inventories };
}

function isRequiredDataset(dataset: string): boolean {
  return (
    (CLOUDFLARE_DATASETS as Readonly<Record<string, { readonly required: boolean } | undefined>>)[dataset]?.required ??
    false
  );
}

function cloudflareConfigFor(app: Pick<App, 'config'>, name: string, connection: SourceConnection): CloudflareConfig {
  const settings = app.config.cloudflare;
  return parseCloudflareConfig({
    name,
    accountId: connection.accountId,
    token: connection.token,
    baseUrl: connection.baseUrl ?? settings.apiBaseUrl,
    pageSize: settings.pageSize,
    lookbackMs: settings.lookbackSecs * 1000,
    timeoutMs: settings.timeoutMs,
    rateLimit: settings.rateLimit,
    rateShare: connection.rateShare ?? settings.rateShare,
  });
}
