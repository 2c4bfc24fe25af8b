/**
 * The single error catalogue: every code maps to its default message, exit/HTTP status and retryability.
 * A code never changes meaning once released; docs/errors.md lists them all.
 */
export const ERROR_CATALOGUE = {
  CONFIG_INVALID: { status: 400, retryable: false, message: 'The configuration is invalid.' },
  CONFIG_DATA_DIR_UNUSABLE: { status: 500, retryable: false, message: 'The data directory cannot be used.' },
  CLI_USAGE: { status: 400, retryable: false, message: 'The command line is invalid.' },
  SECRET_KEY_INVALID: {
    status: 500,
    retryable: false,
    message: 'The secret key cannot be used to decrypt stored tokens.',
  },
  SOURCE_NOT_FOUND: { status: 404, retryable: false, message: 'No data source has that name.' },
  USER_NOT_FOUND: { status: 404, retryable: false, message: 'No user in the inventory has that e-mail or id.' },
  SOURCE_ALREADY_EXISTS: { status: 409, retryable: false, message: 'A data source with that name already exists.' },
  SOURCE_ACCOUNT_ID_INVALID: {
    status: 400,
    retryable: false,
    message: 'The Account ID must be 32 hexadecimal characters.',
  },
  SOURCE_TOKEN_INVALID: { status: 400, retryable: false, message: 'The API token is empty or malformed.' },
  SOURCE_AUTH_FAILED: { status: 401, retryable: false, message: 'Cloudflare rejected the API token.' },
  SOURCE_PERMISSION_DENIED: {
    status: 403,
    retryable: false,
    message: 'The API token lacks a permission this dataset needs.',
  },
  SOURCE_ACCOUNT_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'Cloudflare does not know this Account ID.',
  },
  SOURCE_RATE_LIMITED: { status: 429, retryable: true, message: 'Cloudflare rate-limited the request.' },
  SOURCE_UNAVAILABLE: { status: 502, retryable: true, message: 'Cloudflare answered with a server error.' },
  SOURCE_TIMEOUT: { status: 504, retryable: true, message: 'The request to Cloudflare timed out.' },
  SOURCE_NETWORK_FAILED: { status: 502, retryable: true, message: 'The connection to Cloudflare failed.' },
  SOURCE_RESPONSE_INVALID: {
    status: 502,
    retryable: true,
    message: 'Cloudflare sent a response that could not be read.',
  },
  SOURCE_REQUEST_REJECTED: { status: 400, retryable: false, message: 'Cloudflare rejected the request.' },
  STORE_OPEN_FAILED: { status: 500, retryable: false, message: 'The database could not be opened.' },
  STORE_CORRUPT: { status: 500, retryable: false, message: 'The database file is corrupt.' },
  STORE_MIGRATION_FAILED: { status: 500, retryable: false, message: 'The database migration failed.' },
  STORE_WRITE_FAILED: { status: 500, retryable: true, message: 'Writing to the database failed.' },
  STORE_BUSY: { status: 503, retryable: true, message: 'The database is busy.' },
  STORE_LEASE_LOST: {
    status: 409,
    retryable: false,
    message: 'Another node took over this dataset; the batch was not stored.',
  },
  STORE_SOURCE_CHANGED: {
    status: 409,
    retryable: false,
    message: 'The data source was removed or changed while it was collected; the batch was not stored.',
  },
  STORE_MIGRATE_SOURCE_INVALID: {
    status: 400,
    retryable: false,
    message: 'The directory to migrate from is not a zerotrail data directory this version can copy.',
  },
  STORE_MIGRATE_SOURCE_IN_USE: {
    status: 409,
    retryable: true,
    message: 'A collector is still running on the SQLite data directory.',
  },
  STORE_MIGRATE_TARGET_NOT_EMPTY: {
    status: 409,
    retryable: false,
    message: 'The PostgreSQL database already holds data of another installation.',
  },
  STORE_MIGRATE_COUNT_MISMATCH: {
    status: 500,
    retryable: false,
    message: 'After the copy, some tables hold different row counts in SQLite and PostgreSQL.',
  },
  STORE_MIGRATE_STOPPED: {
    status: 503,
    retryable: true,
    message: 'The migration was stopped before it finished; run the same command again to resume it.',
  },
  STORE_MIGRATE_UNFINISHED: {
    status: 503,
    retryable: false,
    message:
      'A zerotrail store migrate into this PostgreSQL database has not finished; finish it before starting nodes.',
  },
  QUERY_SYNTAX: { status: 400, retryable: false, message: 'The search query does not parse.' },
  QUERY_FIELD_UNKNOWN: { status: 400, retryable: false, message: 'The search query names an unknown field.' },
  QUERY_VALUE_INVALID: { status: 400, retryable: false, message: 'The search query has an invalid value.' },
  TIME_INVALID: {
    status: 400,
    retryable: false,
    message: 'The time is neither ISO 8601 nor relative (-24h, -7d, now).',
  },
  COLLECT_FAILED: { status: 500, retryable: false, message: 'At least one data source failed permanently.' },
  COLLECT_STOPPED: {
    status: 503,
    retryable: true,
    message: 'Collection was stopped before every data source caught up; the next run resumes where it stopped.',
  },
  INTERNAL: { status: 500, retryable: false, message: 'An internal error occurred.' },
  SOURCE_CURSOR_INVALID: { status: 500, retryable: false, message: 'The stored position of a dataset cannot be read.' },
  AUTH_REQUIRED: {
    status: 401,
    retryable: false,
    message: 'Sign in first, or send an API key as Authorization: Bearer.',
  },
  AUTH_FORBIDDEN: { status: 403, retryable: false, message: 'Your role does not allow this.' },
  AUTH_LAST_ADMIN: { status: 409, retryable: false, message: 'zerotrail needs at least one admin.' },
  AUTH_CSRF_INVALID: {
    status: 403,
    retryable: false,
    message: 'The CSRF token is missing or does not match this session.',
  },
  AUTH_LOGIN_FAILED: { status: 401, retryable: false, message: 'The user name or password is wrong.' },
  AUTH_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many failed logins; wait before trying again.' },
  AUTH_USER_EXISTS: { status: 409, retryable: false, message: 'A zerotrail user with that name already exists.' },
  AUTH_USER_UNKNOWN: { status: 404, retryable: false, message: 'No zerotrail user has that name.' },
  AUTH_PASSWORD_WEAK: { status: 400, retryable: false, message: 'The password is too short.' },
  AUTH_LOGIN_LINK_INVALID: {
    status: 401,
    retryable: false,
    message: 'This login link was already used or has expired.',
  },
  HTTP_REQUEST_INVALID: { status: 400, retryable: false, message: 'The request is invalid.' },
  HTTP_NOT_FOUND: { status: 404, retryable: false, message: 'No such route.' },
  HTTP_METHOD_NOT_ALLOWED: { status: 405, retryable: false, message: 'This path does not answer that method.' },
  EVENT_NOT_FOUND: { status: 404, retryable: false, message: 'No stored event has that id.' },
  ALERT_NOT_FOUND: { status: 404, retryable: false, message: 'No alert has that id.' },
  ALERT_CHANGE_INVALID: { status: 400, retryable: false, message: 'The alert cannot be changed that way.' },
  RULE_NOT_FOUND: { status: 404, retryable: false, message: 'No detection rule has that id.' },
  SINK_UNREACHABLE: { status: 502, retryable: true, message: 'A notification target could not be reached.' },
  SINK_TIMEOUT: { status: 504, retryable: true, message: 'A notification target did not answer in time.' },
  SINK_UNAVAILABLE: { status: 502, retryable: true, message: 'A notification target answered with a temporary error.' },
  SINK_REJECTED: { status: 502, retryable: false, message: 'A notification target refused the notification.' },
  SINK_TLS_FAILED: { status: 502, retryable: false, message: 'A notification target failed TLS verification.' },
  RULE_INVALID: {
    status: 400,
    retryable: false,
    message: 'The detection rule is invalid or uses an unsupported feature.',
  },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface AppErrorOptions {
  readonly message?: string;
  readonly hint?: string;
  readonly retryable?: boolean;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/** Base of every error we raise on purpose. `message` says what happened and what to do; it never holds a secret. */
export class AppError extends Error {
  override name: string = 'AppError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(
      options.message ?? ERROR_CATALOGUE[code].message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CATALOGUE[code].retryable;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

export class ConfigError extends AppError {
  override name = 'ConfigError' as const;
}
export class SourceError extends AppError {
  override name = 'SourceError' as const;
}
export class StoreError extends AppError {
  override name = 'StoreError' as const;
}
export class SinkError extends AppError {
  override name = 'SinkError' as const;
}
export class AuthError extends AppError {
  override name = 'AuthError' as const;
}
export class NotFoundError extends AppError {
  override name = 'NotFoundError' as const;
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
