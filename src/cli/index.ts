import { constants as osConstants } from 'node:os';
import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import type { Clock } from '../core/clock.js';
import type { AppError } from '../core/errors.js';
import { AuthError, ConfigError, NotFoundError, SourceError, StoreError, isAppError } from '../core/errors.js';
import { maskWords, tokenShapedWords } from '../core/redact-token.js';
import stringWidth from 'string-width';
import { createCommandContext, logLevelFlag, type CommandContext, type GlobalOptions } from './context.js';
import { StopSignalReceived, writeLine, type CliIo } from './io.js';
import { visible, visibleLines } from './output.js';

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

type Register = (program: Command, context: CommandContext) => void;

/**
 * Each command's module, loaded only when it runs: a run of one command does not hold the web server, the
 * simulator and the rest in memory (loading them all cost `collect` about 17 MB of resident memory). The order
 * is the order of the help's listing.
 */
const COMMANDS: readonly (readonly [string, () => Promise<Register>])[] = [
  ['source', async () => (await import('./commands/source.js')).registerSourceCommand],
  ['collect', async () => (await import('./commands/collect.js')).registerCollectCommand],
  ['search', async () => (await import('./commands/search.js')).registerSearchCommand],
  ['alerts', async () => (await import('./commands/alerts.js')).registerAlertsCommand],
  ['rules', async () => (await import('./commands/rules.js')).registerRulesCommand],
  ['notify', async () => (await import('./commands/notify.js')).registerNotifyCommand],
  ['inventory', async () => (await import('./commands/inventory.js')).registerInventoryCommand],
  ['investigate', async () => (await import('./commands/investigate.js')).registerInvestigateCommand],
  ['simulate', async () => (await import('./commands/simulate.js')).registerSimulateCommand],
  ['demo', async () => (await import('./commands/demo.js')).registerDemoCommand],
  ['serve', async () => (await import('./commands/serve.js')).registerServeCommand],
  ['user', async () => (await import('./commands/user.js')).registerUserCommand],
  ['apikey', async () => (await import('./commands/apikey.js')).registerApiKeyCommand],
  ['store', async () => (await import('./commands/store.js')).registerStoreCommand],
];

/**
 * The command named by `argv`, or undefined (help, a version request, a mistyped name): then all are loaded.
 * `valueOptions` are the root's options that take a value, whose values are skipped.
 */
function namedCommand(argv: readonly string[], valueOptions: ReadonlySet<string | undefined>): string | undefined {
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    if (valueOptions.has(arg)) index += 1;
    // Help asked for before any command lists every command.
    else if (arg === '--help' || arg === '-h') return undefined;
    else if (!arg.startsWith('-')) return COMMANDS.some(([name]) => name === arg) ? arg : undefined;
  }
  return undefined;
}

export interface RunCliOptions {
  readonly clock?: Clock;
  /** Where detection runs; the binary gives it a thread of its own (see OpenAppOptions.detection). */
  readonly detection?: 'inline' | 'thread';
}

export async function runCli(argv: readonly string[], io: CliIo, options: RunCliOptions = {}): Promise<number> {
  const program = new Command();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const context = createCommandContext(io, globals, options.clock, options.detection, argv);
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
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent (env ZEROTRAIL_LOG_LEVEL, else log.level of the config, default warn)',
    )
    .option('--debug', 'verbose logs and stack traces on errors')
    .enablePositionalOptions(false)
    // Checked before any command runs, so a mistyped level is refused whether the command logs or not.
    .hook('preAction', () => {
      logLevelFlag(globals().logLevel);
    })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => undefined,
    });
  const valueOptions = new Set(
    program.options.filter((option) => option.required || option.optional).map((option) => option.long),
  );
  const named = namedCommand(argv, valueOptions);
  for (const [name, load] of COMMANDS) if (named === undefined || name === named) (await load())(program, context);
  for (const command of program.commands) applyToTree(command);

  // Commander shows the help in place of an error when a command is missing, and then throws with the placeholder
  // message "(outputHelp)": which command's help went to stderr is what the message is made of.
  let helpInPlaceOfError: Command | undefined;
  program.on('afterAllHelp', (help: { readonly error: boolean; readonly command: Command }) => {
    if (help.error) helpInPlaceOfError = help.command;
  });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (helpInPlaceOfError !== undefined) {
        writeLine(io.stderr, `error[CLI_USAGE]: ${visible(missingCommandMessage(helpInPlaceOfError))}`);
        writeLine(io.stderr, `hint: run ${commandPath(helpInPlaceOfError)} <command> --help for what a command takes`);
        return EXIT_CODES.usage;
      }
      if (error.exitCode === 0) return EXIT_CODES.ok;
      // Commander quotes what was typed; the lines of its message ("Did you mean …?") are its own.
      writeLine(
        io.stderr,
        `error[CLI_USAGE]: ${maskWords(visibleLines(error.message.replace(/^error: /, '')), tokenShapedWords(argv))}`,
      );
      writeLine(io.stderr, 'hint: run zerotrail --help, or zerotrail <command> --help');
      return EXIT_CODES.usage;
    }
    return reportError(error, io, globals().debug === true, tokenShapedWords(argv));
  }
}

/**
 * Why `command` showed its help instead of running: it was given no command, or `help` was asked about a name that
 * is none of its commands.
 */
function missingCommandMessage(command: Command): string {
  const names = command
    .createHelp()
    .visibleCommands(command)
    .map((child) => child.name())
    .filter((name) => name !== 'help');
  const [first, unknown] = command.args;
  if (first === 'help' && unknown !== undefined) {
    return `'${unknown}' is not a command of ${commandPath(command)}; its commands are ${listed(names)}`;
  }
  return `a command is required: ${commandPath(command)} <command>, where <command> is ${listed(names)}`;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current !== null; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}`;
}

/** Subcommands inherit the root's error handling and output routing. */
function applyToTree(command: Command): void {
  command.exitOverride();
  command.configureOutput({ outputError: () => undefined });
  for (const child of command.commands) applyToTree(child);
}

// `typed`: token-shaped words of the command line (tokenShapedWords), masked wherever the refusal repeats them.
function reportError(error: unknown, io: CliIo, debug: boolean, typed: readonly string[]): number {
  const mask = (text: string): string => maskWords(text, typed);
  if (isAppError(error)) {
    // A message or hint may carry what Cloudflare, an event or the command line said: it is shown escaped, so it
    // cannot drive the terminal or start a line of its own. Only the lists the CLI composes keep their lines.
    const lines = COMPOSED_LINES.has(error.code);
    // An API token typed where another value belongs (`--from "$TOKEN"`) would come back in the refusal.
    const show = (text: string): string => mask(lines ? visibleLines(text) : visible(text));
    writeLine(io.stderr, `error[${error.code}]: ${show(error.message)}`);
    const pointer = queryPointer(error);
    const hint = pointer !== undefined ? mask(pointer) : error.hint === undefined ? undefined : show(error.hint);
    // Continuation lines are indented like the first so a caret under a query still points at its column.
    if (hint !== undefined) writeLine(io.stderr, `hint: ${hint.replace(/\n/g, '\n      ')}`);
    if (debug && error.stack !== undefined) writeLine(io.stderr, visibleLines(error.stack));
    return stoppedBySignalExitCode(error, io.signal) ?? exitCodeFor(error);
  }
  if (error instanceof ZodError) {
    writeLine(io.stderr, `error[CLI_USAGE]: ${mask(visibleLines(error.message))}`);
    return EXIT_CODES.usage;
  }
  writeLine(io.stderr, `error[INTERNAL]: ${mask(visible(error instanceof Error ? error.message : String(error)))}`);
  writeLine(
    io.stderr,
    debug ? visibleLines(String((error as Error).stack)) : 'hint: run again with --debug for the stack trace',
  );
  return EXIT_CODES.failure;
}

// Codes whose message and hint are lists of lines the CLI or the config loader put together: their line breaks
// stay, and every other character that could drive a terminal is escaped all the same. Every other message is
// one line, whatever line breaks its text holds.
const COMPOSED_LINES: ReadonlySet<string> = new Set([
  'CONFIG_INVALID',
  'CLI_USAGE',
  'COLLECT_FAILED',
  'SOURCE_NOT_FOUND',
]);

/**
 * The query of a query error on one escaped line with the caret under the column it names, in terminal columns:
 * an escaped character takes six, a wide one two.
 */
function queryPointer(error: AppError): string | undefined {
  const { column, pointer } = error.details;
  if (!error.code.startsWith('QUERY_') || typeof column !== 'number' || typeof pointer !== 'string') return undefined;
  const end = pointer.lastIndexOf('\n');
  if (end < 0) return undefined;
  const query = pointer.slice(0, end);
  return `${visible(query)}\n${' '.repeat(stringWidth(visible(query.slice(0, column - 1))))}^`;
}

// docs/errors.md: 2 usage or config, 3 token or permission. A malformed Account ID is a wrong value typed in; a
// malformed token, one Cloudflare refuses, or one that cannot reach the account is the token's problem.
const USAGE_CODES: ReadonlySet<string> = new Set(['CLI_USAGE', 'TIME_INVALID', 'SOURCE_ACCOUNT_ID_INVALID']);
const TOKEN_CODES: ReadonlySet<string> = new Set([
  'SOURCE_TOKEN_INVALID',
  'SOURCE_AUTH_FAILED',
  'SOURCE_PERMISSION_DENIED',
  'SOURCE_ACCOUNT_NOT_FOUND',
]);

// Codes of a command that a stop signal ended before it finished.
const STOPPED_CODES: ReadonlySet<string> = new Set(['COLLECT_STOPPED', 'STORE_MIGRATE_STOPPED']);

// 130 after Ctrl-C, 143 after SIGTERM: what a shell reports of a program the signal ended, so `timeout`, systemd
// and scripts tell an interrupted run from one that failed.
function stoppedBySignalExitCode(error: AppError, signal: AbortSignal): number | undefined {
  const reason: unknown = signal.reason;
  if (!STOPPED_CODES.has(error.code) || !(reason instanceof StopSignalReceived)) return undefined;
  return 128 + osConstants.signals[reason.signalName];
}

function exitCodeFor(error: AppError): number {
  if (error instanceof ConfigError || USAGE_CODES.has(error.code) || error.code.startsWith('QUERY_')) {
    return EXIT_CODES.usage;
  }
  if (error instanceof AuthError || TOKEN_CODES.has(error.code)) return EXIT_CODES.auth;
  if (error instanceof NotFoundError || error.code === 'SOURCE_NOT_FOUND') return EXIT_CODES.notFound;
  // The store refuses a taken source name too (two adds at one moment): the same exit as the usual refusal.
  if (error.code === 'SOURCE_ALREADY_EXISTS') return EXIT_CODES.source;
  if (error instanceof StoreError) return EXIT_CODES.store;
  if (error instanceof SourceError) return EXIT_CODES.source;
  return EXIT_CODES.failure;
}
