import { pino, destination, stdSerializers, type Logger, type DestinationStream } from 'pino';
import { visibleText } from './visible-text.js';

export type { Logger } from 'pino';

/** Redaction paths are code, never user input. Secrets typed as `Secret` redact themselves through toJSON. */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  'token',
  'api_token',
  'apiToken',
  'password',
  'secret',
  'cookie',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.headers["x-auth-key"]',
  '*.token',
  '*.api_token',
  '*.apiToken',
  '*.password',
  '*.secret',
  '*.cookie',
];

export interface LoggerOptions {
  readonly level?: string;
  readonly destination?: DestinationStream;
}

// Set on a child made by withoutMessages; the children pino makes of it inherit it through their prototype.
const OMITTED_MESSAGES = Symbol('omittedMessages');

interface OmittingLogger {
  readonly [OMITTED_MESSAGES]?: ReadonlySet<string>;
}

/** Logs go to stderr so that stdout stays clean for command output (JSON, CSV, tables). */
export function createLogger(options: LoggerOptions = {}): Logger {
  // A stack trace helps whoever debugs zerotrail, not the operator reading why a dataset stopped: it is logged
  // only at debug level or below (--debug), as the CLI shows stack traces only with --debug.
  const logger: Logger = pino(
    {
      level: options.level ?? 'info',
      base: null,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: {
        err: (error: Error) => {
          const serialized = stdSerializers.err(error);
          if (logger.isLevelEnabled('debug')) return serialized;
          return Object.fromEntries(Object.entries(serialized).filter(([key]) => key !== 'stack'));
        },
      },
      hooks: {
        logMethod(args, method) {
          const omitted = (this as OmittingLogger)[OMITTED_MESSAGES];
          const message: unknown = typeof args[0] === 'string' ? args[0] : args[1];
          if (omitted !== undefined && typeof message === 'string' && omitted.has(message)) return;
          method.apply(this, args);
        },
        streamWrite: visibleJson,
      },
    },
    options.destination ?? destination({ fd: 2, sync: true }),
  );
  return logger;
}

/**
 * A child of `logger` (made by createLogger) that, with every child made of it, leaves out the records whose
 * message is one of `messages`: for a command that shows those events to the operator as lines of its own.
 */
export function withoutMessages(logger: Logger, messages: readonly string[]): Logger {
  const child = logger.child({});
  Object.defineProperty(child, OMITTED_MESSAGES, { value: new Set(messages) });
  return child;
}

/**
 * The log line with every character that could hide or disguise text (bidi overrides, C1 controls, invisible
 * characters), which a Cloudflare error or an event value may carry, written as a JSON `\u202e`-style escape:
 * the line reads back as the same JSON, and a terminal or log viewer showing it raw cannot be driven or misled.
 * JSON.stringify escapes only C0 controls, so none of these is escaped yet; the line's own final newline stays.
 */
function visibleJson(line: string): string {
  return visibleText(line, { keepLineBreaks: true });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
