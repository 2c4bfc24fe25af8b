import type { z } from 'zod';
import { installationIsNew, openApp, type App, type ConnectionTestContext } from '../app.js';
import { loadConfig, formatIssues } from '../config/load.js';
import type { AppConfig } from '../config/schema.js';
import { systemClock, type Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import type { CliIo } from './io.js';

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
  /** The config, logger, clock and metrics, without the store: for talking to Cloudflare before opening it. */
  connectionContext(config: AppConfig): ConnectionTestContext;
}

export function createCommandContext(
  io: CliIo,
  globals: () => GlobalOptions,
  clock: Clock = systemClock,
  detection: 'inline' | 'thread' = 'inline',
): CommandContext {
  let logger: Logger | undefined;
  const getLogger = (): Logger => {
    logger ??= createLogger({
      level: globals().debug === true ? 'debug' : (globals().logLevel ?? io.env['ZEROTRAIL_LOG_LEVEL'] ?? 'warn'),
      destination: io.stderr,
    });
    return logger;
  };
  const context: CommandContext = {
    io,
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
      return installationIsNew(appConfig) ? missing() : context.withApp(work, appConfig);
    },
    connectionContext: (config) => ({ config, logger: configuredLogger(config), clock, metrics: new Metrics() }),
  };
  // The config's level applies unless the command line or the environment chose one.
  const configuredLogger = (appConfig: AppConfig): Logger => {
    const explicitLevel =
      globals().debug === true || globals().logLevel !== undefined || io.env['ZEROTRAIL_LOG_LEVEL'] !== undefined;
    if (!explicitLevel) getLogger().level = appConfig.log.level;
    return getLogger();
  };
  return context;
}

/** Validates command-line values with zod so a wrong type gets the same precise message as a bad config. */
export function parseFlags<T extends z.ZodType>(schema: T, values: unknown): z.output<T> {
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  throw new AppError('CLI_USAGE', {
    message: `Invalid command-line value:\n${formatIssues(result.error.issues).replace(/^ {2}- (\w+)/gm, (_m, key: string) => `  - --${toKebab(key)}`)}`,
    hint: 'Run the command with --help to see what each option accepts.',
  });
}

function toKebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}
