import type { z } from 'zod';
import {
  DATABASE_FILE,
  installationIsNew,
  openApp,
  unfinishedMigrationWarning,
  type App,
  type ConnectionTestContext,
} from '../app.js';
import { loadConfig, formatIssues } from '../config/load.js';
import { configFileSchema, type AppConfig } from '../config/schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { AppError, ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { describeTarget, parseDatabaseUrl } from '../store/postgres/database-url.js';
import { writeLine, type CliIo } from './io.js';
import { visible } from './output.js';

/** Options every command accepts, set before the command name or after it. */
export interface GlobalOptions {
  readonly dataDir?: string;
  readonly databaseUrl?: string;
  readonly config?: string;
  readonly debug?: boolean;
  readonly logLevel?: string;
}

/** What a command needs from the process: streams, environment, clock and a way to open the installation. */
export interface CommandContext {
  readonly io: CliIo;
  /** The command line as given, for a command that tells the words after `--` apart. */
  readonly argv: readonly string[];
  readonly clock: Clock;
  readonly globals: () => GlobalOptions;
  readonly logger: () => Logger;
  loadConfig(overrides?: Readonly<Record<string, Readonly<Record<string, unknown>>>>): AppConfig;
  /** Opens the installation, runs `work`, and always closes the store afterwards. */
  withApp<T>(work: (app: App) => Promise<T>, config?: AppConfig): Promise<T>;
  /**
   * As withApp, for a command about something that must be stored already (a source, an alert, a user): while
   * nothing is stored, `missing` runs instead (its refusal, usually) and the installation is not created.
   */
  withExistingApp<T>(work: (app: App) => Promise<T>, missing: () => T, config?: AppConfig): Promise<T>;
  /**
   * As withApp, for a command that only reads: while the data directory holds no installation (a mistyped
   * --data-dir, say), it says so on stderr and runs `empty`, which prints the empty result in the format asked
   * for, and creates nothing.
   */
  withStoredApp<T>(work: (app: App) => Promise<T>, empty: () => T, config?: AppConfig): Promise<T>;
  /** The config, logger, clock and metrics, without the store: for talking to Cloudflare before opening it. */
  connectionContext(config: AppConfig): ConnectionTestContext;
  /**
   * Whether a log level was asked for: --log-level, --debug, ZEROTRAIL_LOG_LEVEL, or a log.level other than the
   * default in the config file.
   */
  logLevelChosen(config: AppConfig): boolean;
  /**
   * While `write` is set, log lines go to it instead of stderr: a progress display that redraws its bars draws
   * them above the bars, where a line written straight to the terminal would tear them.
   */
  divertLogs(write: ((line: string) => void) | undefined): void;
}

export function createCommandContext(
  io: CliIo,
  globals: () => GlobalOptions,
  clock: Clock = systemClock,
  detection: 'inline' | 'thread' = 'inline',
  argv: readonly string[] = [],
): CommandContext {
  let logger: Logger | undefined;
  let diverted: ((line: string) => void) | undefined;
  const logDestination = {
    write: (line: string): void => {
      if (diverted === undefined) io.stderr.write(line);
      else diverted(line);
    },
  };
  // The level asked for by --log-level or ZEROTRAIL_LOG_LEVEL (empty counts as unset, as for every variable).
  const explicitLevel = (): string | undefined =>
    globals().debug === true ? 'debug' : (logLevelFlag(globals().logLevel) ?? logLevelVariable(io.env));
  const getLogger = (): Logger => {
    logger ??= createLogger({ level: explicitLevel() ?? DEFAULT_LOG_LEVEL, destination: logDestination });
    return logger;
  };
  const context: CommandContext = {
    io,
    argv,
    clock,
    globals,
    logger: getLogger,
    loadConfig: (overrides) =>
      loadConfig({
        env: io.env,
        dataDir: globals().dataDir,
        databaseUrl: globals().databaseUrl,
        configPath: globals().config,
        ...(overrides === undefined ? {} : { overrides }),
      }),
    withApp: async (work, config) => {
      const appConfig = config ?? context.loadConfig();
      const app = await openApp(appConfig, {
        logger: configuredLogger(appConfig),
        clock,
        secretKey: io.env['ZEROTRAIL_SECRET_KEY'],
        secretKeyFile: io.env['ZEROTRAIL_SECRET_KEY_FILE'],
        detection,
      });
      try {
        return await work(app);
      } finally {
        await app.close();
      }
    },
    withExistingApp: async (work, missing, config) => {
      const appConfig = config ?? context.loadConfig();
      return (await installationIsNew(appConfig)) ? missing() : context.withApp(work, appConfig);
    },
    withStoredApp: async (work, empty, config) => {
      const appConfig = config ?? context.loadConfig();
      return context.withExistingApp(
        async (app) => {
          // A read of a half-copied database would show part of the history as if it were all of it.
          const warning = await unfinishedMigrationWarning(app);
          if (warning !== undefined) writeLine(io.stderr, `warning: ${warning}`);
          return work(app);
        },
        () => {
          writeLine(io.stderr, noInstallationNotice(appConfig));
          return empty();
        },
        appConfig,
      );
    },
    connectionContext: (config) => ({ config, logger: configuredLogger(config), clock, metrics: new Metrics() }),
    logLevelChosen: (config) => explicitLevel() !== undefined || config.log.level !== DEFAULT_LOG_LEVEL,
    divertLogs: (write) => {
      diverted = write;
    },
  };
  // The config's level applies unless the command line or the environment chose one.
  const configuredLogger = (appConfig: AppConfig): Logger => {
    if (explicitLevel() === undefined) getLogger().level = appConfig.log.level;
    return getLogger();
  };
  return context;
}

const LOG_LEVELS: readonly string[] = configFileSchema.shape.log.unwrap().shape.level.unwrap().options;
const DEFAULT_LOG_LEVEL = 'warn';
const LOG_LEVELS_TEXT = LOG_LEVELS.join(', ');

/** The level `--log-level` names; undefined without the flag. Refuses a level pino does not know. */
export function logLevelFlag(text: string | undefined): string | undefined {
  if (text === undefined || LOG_LEVELS.includes(text)) return text;
  throw new AppError('CLI_USAGE', {
    message: `--log-level ${text === '' ? 'is empty' : `"${visible(text).slice(0, 40)}" is not a log level`}: give one of ${LOG_LEVELS_TEXT}.`,
    hint: "Leave it out for the config file's log.level (default warn); --debug logs at debug with stack traces.",
  });
}

/**
 * ZEROTRAIL_LOG_LEVEL, undefined when unset or empty. The config loader reports a wrong value together with every
 * other problem; this refuses one too, for a logger made before the configuration is read.
 */
function logLevelVariable(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const text = env['ZEROTRAIL_LOG_LEVEL'];
  if (text === undefined || text === '') return undefined;
  if (LOG_LEVELS.includes(text)) return text;
  throw new ConfigError('CONFIG_INVALID', {
    message: `The configuration is invalid:\n  - ZEROTRAIL_LOG_LEVEL: "${visible(text).slice(0, 40)}" is not a log level; give one of ${LOG_LEVELS_TEXT}.`,
    hint: "Leave ZEROTRAIL_LOG_LEVEL empty or unset for the config file's log.level (default warn).",
  });
}

/** What a read-only command says about an installation that does not exist yet, instead of making one. */
function noInstallationNotice(config: AppConfig): string {
  const pointAt =
    config.databaseUrl === undefined
      ? 'or name the data directory of an existing one with --data-dir DIR or ZEROTRAIL_DATA_DIR.'
      : 'or check the database URL (--database-url or ZEROTRAIL_DATABASE_URL) and its ?schema=.';
  return (
    `notice: there is no zerotrail installation in ${installationPlace(config)} yet (${config.databaseUrl === undefined ? `no ${DATABASE_FILE}` : 'no zerotrail tables'}); nothing was created.\n` +
    'hint: start one there with: printf %s "$TOKEN" | zerotrail source add --name NAME --account-id ID --token-stdin\n' +
    `      ${pointAt}`
  );
}

/**
 * Where the installation that does not exist was looked for: the data directory, or the PostgreSQL database by
 * host, database and schema (never the user or password of its URL).
 */
export function installationPlace(config: AppConfig): string {
  if (config.databaseUrl === undefined) return visible(config.dataDir);
  try {
    return `the PostgreSQL database ${visible(describeTarget(parseDatabaseUrl(config.databaseUrl).target))}`;
  } catch {
    // A URL that does not parse (a '#' from an unencoded password among them) is shown in no part; opening the
    // store says what is wrong with it.
    return 'the configured PostgreSQL database';
  }
}

/** Validates command-line values with zod so a wrong type gets the same precise message as a bad config. */
export function parseFlags<T extends z.ZodType>(schema: T, values: unknown): z.output<T> {
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  throw new AppError('CLI_USAGE', {
    // A message may quote what was typed; the lines are the list's own.
    message: `Invalid command-line value:\n${formatIssues(result.error.issues.map((issue) => ({ ...issue, message: visible(issue.message) }))).replace(/^ {2}- (\w+)/gm, (_m, key: string) => `  - --${toKebab(key)}`)}`,
    hint: 'Run the command with --help to see what each option accepts.',
  });
}

/**
 * Validates one positional argument like parseFlags, naming it as `--help` shows it (`<id>`): it has no option
 * name, and a bare "(root)" would not tell which value was wrong.
 */
export function parseArgument<T extends z.ZodType>(name: string, schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new AppError('CLI_USAGE', {
    message: `Invalid command-line value:\n${formatIssues(result.error.issues.map((issue) => ({ ...issue, path: [`<${name}>`], message: visible(issue.message) })))}`,
    hint: 'Run the command with --help to see what each argument accepts.',
  });
}

function toKebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
