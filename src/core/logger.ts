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
  return pino(
    {
      level: options.level ?? 'info',
      base: null,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { err: stdSerializers.err },
    },
    options.destination ?? destination({ fd: 2, sync: true }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
