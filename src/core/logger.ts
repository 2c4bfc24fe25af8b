import { pino, destination, stdSerializers, type Logger, type DestinationStream } from 'pino';

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
    },
    options.destination ?? destination({ fd: 2, sync: true }),
  );
  return logger;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
