import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import type { Clock } from '../core/clock.js';
import type { AppError } from '../core/errors.js';
import { AuthError, ConfigError, NotFoundError, SourceError, StoreError, isAppError } from '../core/errors.js';
import { registerAlertsCommand } from './commands/alerts.js';
import { registerCollectCommand } from './commands/collect.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerInventoryCommand } from './commands/inventory.js';
import { registerInvestigateCommand } from './commands/investigate.js';
import { registerNotifyCommand } from './commands/notify.js';
import { registerApiKeyCommand } from './commands/apikey.js';
import { registerRulesCommand } from './commands/rules.js';
import { registerSearchCommand } from './commands/search.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSimulateCommand } from './commands/simulate.js';
import { registerSourceCommand } from './commands/source.js';
import { registerStoreCommand } from './commands/store.js';
import { registerUserCommand } from './commands/user.js';
import { createCommandContext, type GlobalOptions } from './context.js';
import { writeLine, type CliIo } from './io.js';

/** Exit codes by error class, so scripts can tell a usage mistake from a rejected token or a broken store. */
export const EXIT_CODES = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  store: 5,
  source: 6,
} as const;

export const VERSION = '0.1.0';

export interface RunCliOptions {
  readonly clock?: Clock;
  /** Where detection runs; the binary gives it a thread of its own (see OpenAppOptions.detection). */
  readonly detection?: 'inline' | 'thread';
}

export async function runCli(argv: readonly string[], io: CliIo, options: RunCliOptions = {}): Promise<number> {
  const program = new Command();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const context = createCommandContext(io, globals, options.clock, options.detection);
  program
    .name('zerotrail')
    .description('Collect, keep and investigate Cloudflare Zero Trust logs')
    .version(VERSION)
    .option(
      '--data-dir <dir>',
      'where the database and the secret key live (env ZEROTRAIL_DATA_DIR, default ./zerotrail-data)',
    )
    .option(
      '--database-url <url>',
      'keep everything in this PostgreSQL database instead of the data directory (env ZEROTRAIL_DATABASE_URL)',
    )
    .option('--config <file>', 'YAML or JSON config file (env ZEROTRAIL_CONFIG, default <data-dir>/config.yaml)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (env ZEROTRAIL_LOG_LEVEL)')
    .option('--debug', 'verbose logs and stack traces on errors')
    .enablePositionalOptions(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => undefined,
    });
  registerSourceCommand(program, context);
  registerCollectCommand(program, context);
  registerSearchCommand(program, context);
  registerAlertsCommand(program, context);
  registerRulesCommand(program, context);
  registerNotifyCommand(program, context);
  registerInventoryCommand(program, context);
  registerInvestigateCommand(program, context);
  registerSimulateCommand(program, context);
  registerDemoCommand(program, context);
  registerServeCommand(program, context);
  registerUserCommand(program, context);
  registerApiKeyCommand(program, context);
  registerStoreCommand(program, context);
  for (const command of program.commands) applyToTree(command);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT_CODES.ok;
      writeLine(io.stderr, `error[CLI_USAGE]: ${error.message.replace(/^error: /, '')}`);
      writeLine(io.stderr, 'hint: run zerotrail --help, or zerotrail <command> --help');
      return EXIT_CODES.usage;
    }
    return reportError(error, io, globals().debug === true);
  }
}

/** Subcommands inherit the root's error handling and output routing. */
function applyToTree(command: Command): void {
  command.exitOverride();
  command.configureOutput({ outputError: () => undefined });
  for (const child of command.commands) applyToTree(child);
}

function reportError(error: unknown, io: CliIo, debug: boolean): number {
  if (isAppError(error)) {
    writeLine(io.stderr, `error[${error.code}]: ${error.message}`);
    // Continuation lines are indented like the first so a caret under a query still points at its column.
    if (error.hint !== undefined) writeLine(io.stderr, `hint: ${error.hint.replace(/\n/g, '\n      ')}`);
    if (debug && error.stack !== undefined) writeLine(io.stderr, error.stack);
    return exitCodeFor(error);
  }
  if (error instanceof ZodError) {
    writeLine(io.stderr, `error[CLI_USAGE]: ${error.message}`);
    return EXIT_CODES.usage;
  }
  writeLine(io.stderr, `error[INTERNAL]: ${error instanceof Error ? error.message : String(error)}`);
  writeLine(io.stderr, debug ? String((error as Error).stack) : 'hint: run again with --debug for the stack trace');
  return EXIT_CODES.failure;
}

function exitCodeFor(error: AppError): number {
  if (
    error instanceof ConfigError ||
    error.code === 'CLI_USAGE' ||
    error.code.startsWith('QUERY_') ||
    error.code === 'TIME_INVALID'
  ) {
    return EXIT_CODES.usage;
  }
  if (error instanceof AuthError || error.code === 'SOURCE_AUTH_FAILED' || error.code === 'SOURCE_PERMISSION_DENIED')
    return EXIT_CODES.auth;
  if (error instanceof NotFoundError || error.code === 'SOURCE_NOT_FOUND') return EXIT_CODES.notFound;
  if (error instanceof StoreError) return EXIT_CODES.store;
  if (error instanceof SourceError) return EXIT_CODES.source;
  return EXIT_CODES.failure;
}
