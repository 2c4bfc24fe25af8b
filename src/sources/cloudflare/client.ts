import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { SourceError, type AppError, type ErrorCode } from '../../core/errors.js';
import { rememberInexactRecords } from '../../core/exact-records.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { redactToken } from '../../core/redact-token.js';
import { abortReason, MAX_RETRY_AFTER_MS, REQUEST_BACKOFF, withRetry, type BackoffPolicy } from '../../core/retry.js';
import type { Secret } from '../../core/secret.js';
import { CLOUDFLARE_DATASETS } from './datasets/catalogue.js';
import type { RateBudget } from './rate-budget.js';

/** An array is sent as the same key repeated (`idp_id=a&idp_id=b`), as the API's array parameters expect. */
export type QueryValue = string | number | boolean | undefined | readonly (string | number)[];
export type Query = Readonly<Record<string, QueryValue>>;

export interface CloudflareClientOptions {
  /** API root; a path prefix such as `/client/v4` is kept, and so is a query, ahead of each request's own. */
  readonly baseUrl: string;
  readonly accountId: string;
  readonly token: Secret;
  readonly timeoutMs: number;
  readonly rateBudget: RateBudget;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly userAgent?: string;
  /** How often and how long to retry retryable failures before giving up to the caller. */
  readonly retryPolicy?: BackoffPolicy;
}

export interface RequestOptions {
  /** The permission group the endpoint needs, named in the error when the token lacks it. */
  readonly permission?: string;
  /**
   * The dataset the request serves. A token Cloudflare refuses outright is replaced by one holding what zerotrail
   * needs, so the advice names the dataset's permission too when it is not one of the base three: listing the
   * identity providers for the SCIM logs needs a base permission, but collecting them needs SCIM Logs Read.
   */
  readonly dataset?: string;
}

/**
 * `result_info` of collections: page-based (common.yaml) or cursor-based (`devices/physical-devices`, `logs/audit`);
 * every field optional because endpoints differ.
 */
export interface ResultInfo {
  readonly page?: number;
  readonly perPage?: number;
  readonly count?: number;
  readonly totalCount?: number;
  readonly totalPages?: number;
  /** The next page's cursor on cursor-paged endpoints; absent or empty on the last page. */
  readonly cursor?: string;
}

export interface CloudflareResponse<T> {
  readonly result: T;
  readonly resultInfo: ResultInfo | undefined;
  readonly headers: Headers;
}

const messageSchema = z.looseObject({
  code: z.number(),
  message: z.string(),
  // 6003 "Invalid request headers" carries the precise reason (6111, 6103) here (API-NOTES §5).
  error_chain: z.array(z.looseObject({ code: z.number(), message: z.string() })).optional(),
});
type CloudflareMessage = z.infer<typeof messageSchema>;

/** An entry of `errors` as errors carry it in `details.errors`: the fields we read, with the token redacted. */
interface ErrorEntry {
  readonly code: number;
  readonly message: string;
  readonly chain?: readonly { readonly code: number; readonly message: string }[];
}

// common.yaml's envelope: strict on what we branch on, everything else passes through.
const envelopeSchema = z.looseObject({
  success: z.boolean(),
  errors: z.array(messageSchema).default([]),
  messages: z.array(z.unknown()).optional(),
  result: z.unknown(),
  result_info: z
    .looseObject({
      page: z.number().optional(),
      per_page: z.number().optional(),
      // logs/audit sends count as a string ("1") in the API reference's example (API-NOTES §1).
      count: z.union([z.number(), z.string()]).optional(),
      // physical-devices documents total_count as nullable.
      total_count: z.number().nullable().optional(),
      total_pages: z.number().optional(),
      cursor: z.string().nullable().optional(),
      // Where the SDK looks for the next page of logs/audit (API-NOTES §7), though the API reference shows
      // `cursor`: read when `cursor` is absent, so either answer pages on.
      cursors: z.looseObject({ after: z.string().nullable().optional() }).nullable().optional(),
    })
    .nullable()
    .optional(),
});

// A page of 1,000 access events is well under 1 MiB; anything near this is not an API answer.
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const TOKEN_INVALID_CODES = new Set([6003, 6103, 6111, 9106]);
const ACCOUNT_CODES = new Set([7000, 7003]);
// 1000 "Invalid API Token" is what /user/tokens/verify answers for tokens it does not know; 10001 "Unable to
// authenticate request" is rarely seen but means the same.
const AUTH_CODES = new Set([1000, 10001]);
const PERMISSION_CODES = new Set([9109, 10000]);
const TOKEN_REJECTED_PATTERN = /invalid|expired|revoked|disabled/i;
const ACCOUNT_ID_HINT = 'it is the 32-character id in the dashboard URL (dash.cloudflare.com/<account id>/...)';

/**
 * The Cloudflare v4 API over Node's fetch: one rate budget per token, timeouts, envelope parsing, typed
 * errors with actionable messages, and retries of retryable failures. Messages and logs never hold the
 * token or query values.
 */
export class CloudflareClient {
  readonly accountId: string;
  readonly #baseUrl: URL;
  readonly #authorization: string;
  readonly #redact: (text: string) => string;
  readonly #timeoutMs: number;
  readonly #budget: RateBudget;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #clock: Clock;
  readonly #userAgent: string;
  readonly #policy: BackoffPolicy;

  /**
   * `text` with this client's token, in any form it is redacted from errors, replaced: for values of an answer
   * that are shown as text (a token's status, its permission names), where an echo of the token must not show.
   */
  redact(text: string): string {
    return this.#redact(text);
  }

  constructor(options: CloudflareClientOptions) {
    this.accountId = options.accountId;
    this.#baseUrl = new URL(options.baseUrl);
    const credential = credentialOf(options.token);
    this.#authorization = credential.authorization;
    this.#redact = credential.redact;
    this.#timeoutMs = options.timeoutMs;
    this.#budget = options.rateBudget;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#clock = options.clock;
    this.#userAgent = options.userAgent ?? 'zerotrail';
    this.#policy = options.retryPolicy ?? REQUEST_BACKOFF;
  }

  /** The client's logger, for callers that report on its requests (the connection test). */
  get logger(): Logger {
    return this.#logger;
  }

  /** `/accounts/<accountId><suffix>`, with the id encoded. */
  accountPath(suffix: string): string {
    return `/accounts/${encodeURIComponent(this.accountId)}${suffix}`;
  }

  /**
   * GETs `path` (relative to the base URL) and validates `result` with `resultSchema`. Retryable failures are
   * retried with backoff; the last one is thrown as a retryable `SourceError` once the attempts run out.
   */
  async get<S extends z.ZodType>(
    path: string,
    query: Query,
    resultSchema: S,
    signal: AbortSignal,
    options: RequestOptions = {},
  ): Promise<CloudflareResponse<z.output<S>>> {
    const url = this.#url(path, query);
    return withRetry((attempt) => this.#attempt(url, path, resultSchema, signal, options, attempt), {
      policy: this.#policy,
      signal,
      onRetry: (error: AppError, attempt, delayMs) => {
        this.#metrics.increment('source_requests_retried_total', { code: error.code });
        this.#logger.warn({ path, attempt, delayMs, code: error.code }, 'Cloudflare request retry scheduled');
      },
    });
  }

  #url(path: string, query: Query): string {
    // Joined as URL parts, not as text: appended to the text of a base URL with a query or fragment, the path would
    // land inside that query or fragment and the request would reach the API root instead.
    const url = new URL(this.#baseUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
    url.hash = '';
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) {
        for (const item of value as readonly (string | number)[]) url.searchParams.append(key, String(item));
      } else {
        url.searchParams.set(key, String(value));
      }
    }
    return url.toString();
  }

  async #attempt<S extends z.ZodType>(
    url: string,
    path: string,
    resultSchema: S,
    signal: AbortSignal,
    options: RequestOptions,
    attempt: number,
  ): Promise<CloudflareResponse<z.output<S>>> {
    await this.#budget.acquire(signal);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'GET',
        headers: { authorization: this.#authorization, accept: 'application/json', 'user-agent': this.#userAgent },
        signal: AbortSignal.any([signal, timeout]),
        // A redirect would carry the request to another place than the operator configured.
        redirect: 'manual',
      });
      this.#budget.observe(response.headers);
      text = await readBody(response, path);
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      if (timeout.aborted) {
        this.#count('timeout');
        throw new SourceError('SOURCE_TIMEOUT', {
          // The message outlives the retries (a failed dataset shows its last error), so it does not promise one.
          message: `Cloudflare did not answer ${path} within ${this.#timeoutMs} ms.`,
          hint: 'Usually temporary: collection retries on its own, and collect --once can be run again. On a slow link, raise cloudflare.timeout_ms.',
          details: { path, timeoutMs: this.#timeoutMs, attempt },
          cause: error,
        });
      }
      if (error instanceof SourceError) {
        this.#count('invalid');
        throw error;
      }
      this.#count('network');
      const reason = this.#redact(networkReason(error));
      throw new SourceError('SOURCE_NETWORK_FAILED', {
        message: `The connection to ${this.#baseUrl.host} failed while requesting ${path} (${reason}).`,
        hint:
          `Check that this host can reach ${this.#baseUrl.origin} (DNS, a firewall, a proxy); collection tries again ` +
          `on its own. The API base URL is ${BASE_URL_SETTING}.`,
        details: { path, reason, attempt },
        cause: redactedError(error, this.#redact),
      });
    }
    this.#count(String(response.status));
    return this.#interpret(response, text, path, resultSchema, options);
  }

  #count(status: string): void {
    this.#metrics.increment('source_requests_total', { status });
  }

  #interpret<S extends z.ZodType>(
    response: Response,
    text: string,
    path: string,
    resultSchema: S,
    options: RequestOptions,
  ): CloudflareResponse<z.output<S>> {
    const status = response.status;
    const parsedJson = parseJson(text);
    const envelope = parsedJson.ok ? envelopeSchema.safeParse(parsedJson.value) : undefined;
    const errors = envelope?.success === true ? this.#entries(envelope.data.errors) : [];

    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.#clock.now());
      if (retryAfterMs !== undefined) this.#budget.block(this.#clock.now() + retryAfterMs);
      throw new SourceError('SOURCE_RATE_LIMITED', {
        message:
          retryAfterMs === undefined
            ? `Cloudflare rate-limited requests with this token (${path}); backing off.`
            : `Cloudflare rate-limited requests with this token (${path}) and asked to wait ${Math.ceil(retryAfterMs / 1000)} s.`,
        hint: `Other tools using the same token share its quota of ${this.#budget.describeLimit()}; lower rate_share or give this source its own token.`,
        details: { path, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }), errors },
      });
    }
    // 408 is the edge or a proxy giving up on a slow request, 409 a conflict that a repeat does not meet: both
    // pass on a retry, as 5xx do.
    if (status === 408 || status === 409) {
      throw new SourceError(status === 408 ? 'SOURCE_TIMEOUT' : 'SOURCE_UNAVAILABLE', {
        message: `Cloudflare answered ${errors.length === 0 ? `HTTP ${status}` : `HTTP ${status}, ${describeCodes(errors)}`} for ${path}; a repeat usually passes.`,
        hint: 'Collection retries on its own, and collect --once can be run again; if it lasts, see https://www.cloudflarestatus.com.',
        retryable: true,
        details: { path, status, errors },
      });
    }
    if (status >= 500) {
      throw new SourceError('SOURCE_UNAVAILABLE', {
        message: `Cloudflare answered HTTP ${status} for ${path}: a failure on Cloudflare's side, usually temporary.`,
        hint: 'Collection retries on its own, and collect --once can be run again; if it lasts, see https://www.cloudflarestatus.com.',
        details: { path, status, errors },
      });
    }
    if (status >= 200 && status < 300) {
      if (!parsedJson.ok) {
        throw invalidResponse(
          path,
          status,
          'the body is not complete JSON (truncated or not JSON at all)',
          // V8's SyntaxError quotes the body around the fault.
          redactedError(parsedJson.error, this.#redact),
        );
      }
      if (envelope === undefined || !envelope.success) {
        throw invalidResponse(path, status, `the response envelope does not match: ${issuesOf(envelope?.error)}`);
      }
      if (envelope.data.success) {
        const result = resultSchema.safeParse(envelope.data.result);
        if (!result.success) {
          throw invalidResponse(
            path,
            status,
            `the result does not match what zerotrail relies on: ${issuesOf(result.error)}`,
            undefined,
            MISMATCH_HINT,
          );
        }
        rememberInexactRecords(text, envelope.data.result);
        const info = envelope.data.result_info ?? undefined;
        return {
          result: result.data,
          resultInfo: info === undefined ? undefined : toResultInfo(info),
          headers: response.headers,
        };
      }
    }
    if ((status === 401 || status === 403 || status === 404) && envelope?.success !== true) {
      throw notFromTheApi(path, status, parsedJson.ok);
    }
    throw this.#failure(status, errors, path, options);
  }

  /**
   * Cloudflare, or a proxy in front of it, may echo the Authorization header in a message ("bad header Bearer
   * <token>"); an error keeps such text in its message and details, and from there it reaches the CLI, the logs,
   * the stored dataset status and the HTTP API. It is redacted here, before any of them sees it.
   */
  #entries(errors: readonly CloudflareMessage[]): ErrorEntry[] {
    return errors.map((e) => {
      const entry = { code: e.code, message: this.#redact(e.message) };
      return e.error_chain === undefined
        ? entry
        : { ...entry, chain: e.error_chain.map((c) => ({ code: c.code, message: this.#redact(c.message) })) };
    });
  }

  #failure(status: number, errors: readonly ErrorEntry[], path: string, options: RequestOptions): SourceError {
    const codes = new Set(errors.flatMap((e) => [e.code, ...(e.chain ?? []).map((c) => c.code)]));
    const has = (set: ReadonlySet<number>): boolean => [...codes].some((code) => set.has(code));
    const details = { path, status, errors };
    const codeText = errors.length === 0 ? `HTTP ${status}` : `HTTP ${status}, ${describeCodes(errors)}`;
    const make = (code: ErrorCode, message: string, hint?: string, reason?: FailureReason): SourceError =>
      new SourceError(code, {
        message,
        details: reason === undefined ? details : { ...details, reason },
        ...(hint === undefined ? {} : { hint }),
      });
    const permission = options.permission;

    if (has(TOKEN_INVALID_CODES)) {
      return make(
        'SOURCE_TOKEN_INVALID',
        `Cloudflare could not read the API token from the Authorization header (${codeText}). Paste the token again, without quotes, spaces or a "Bearer " prefix.`,
      );
    }
    if (has(ACCOUNT_CODES) || status === 404) {
      return make(
        'SOURCE_ACCOUNT_NOT_FOUND',
        `Cloudflare does not know account ${this.accountId} (${codeText}). Check the Account ID: ${ACCOUNT_ID_HINT}.`,
      );
    }
    const tokenRejected =
      status === 401 ||
      has(AUTH_CODES) ||
      errors.some((e) => e.code === 9109 && TOKEN_REJECTED_PATTERN.test(e.message));
    if (tokenRejected) {
      // Not a missing permission: adding one to this token would not help, so the advice is the whole set.
      return make(
        'SOURCE_AUTH_FAILED',
        `Cloudflare rejected the API token as invalid, expired or revoked (${codeText}); this is not a missing permission. ${newTokenAdvice(this.accountId)}`,
        REPLACE_TOKEN_HINT,
      );
    }
    if (codes.has(9109)) {
      // 9109 without a rejected-token message: the token is valid but does not cover this account, which is
      // as often a mistyped Account ID as a token scoped to another account (API-NOTES §5).
      return make(
        'SOURCE_PERMISSION_DENIED',
        `The API token cannot access account ${this.accountId} (${codeText}). Check the Account ID (${ACCOUNT_ID_HINT}), and that the token includes this account${
          permission === undefined ? '' : ` with ${permission}`
        }.`,
        'Edit the token in the Cloudflare dashboard (My Profile > API Tokens) and add this account under Account Resources.',
        'account_denied',
      );
    }
    if (status === 403 || has(PERMISSION_CODES)) {
      return make(
        'SOURCE_PERMISSION_DENIED',
        permission === undefined
          ? `The API token is not allowed to call ${path} for account ${this.accountId} (${codeText}).`
          : `The API token is not allowed to read ${path} (${codeText}): the token needs ${permission} for account ${this.accountId}.`,
        'Edit the token in the Cloudflare dashboard (Manage Account > API Tokens, or My Profile > API Tokens) and add the permission.',
        'permission_missing',
      );
    }
    if (status >= 300 && status < 400) {
      return make(
        'SOURCE_REQUEST_REJECTED',
        `Cloudflare answered ${path} with a redirect (${codeText}); check the API base URL.`,
      );
    }
    return make('SOURCE_REQUEST_REJECTED', `Cloudflare rejected the request to ${path} (${codeText}).`);
  }
}

// Where a hint about reaching the API points: the setting that chose the place.
const BASE_URL_SETTING = 'CLOUDFLARE_API_BASE_URL (default https://api.cloudflare.com/client/v4)';

/**
 * The API answers every refusal with its JSON envelope and error codes. A 401, 403 or 404 without one comes from
 * before the API: the edge's firewall (a block page such as error 1020), a proxy on the way, or a base URL that
 * points elsewhere. It says nothing about the token, the permission or the Account ID, so it is not blamed on them,
 * and an optional dataset is not set aside for an hour over it.
 */
function notFromTheApi(path: string, status: number, isJson: boolean): SourceError {
  const body = isJson ? "JSON that is not the API's envelope" : "a page that is not the API's JSON";
  return new SourceError('SOURCE_UNAVAILABLE', {
    message:
      status === 404
        ? `HTTP 404 for ${path} with ${body}: the request did not reach the Cloudflare API, so the API base URL or a proxy on the way is the likely cause, not the Account ID.`
        : `HTTP ${status} for ${path} with ${body}: the request was blocked before it reached the Cloudflare API (a firewall rule, a WAF block page such as error 1020, or a proxy), which says nothing about the token.`,
    hint:
      `Check that this host may reach the API base URL, ${BASE_URL_SETTING}, directly or through its proxy; ` +
      'collection tries again on its own.',
    retryable: true,
    details: { path, status },
  });
}

// Why a SOURCE_PERMISSION_DENIED was raised, kept in `details.reason` for callers that must tell them apart.
type FailureReason = 'account_denied' | 'permission_missing';

/**
 * True when Cloudflare answered that the path does not exist (HTTP 404, 7000/7003 "No route"). On an endpoint that
 * is newer than the account's API (Audit Logs v2, physical devices) that means the endpoint, not the Account ID.
 */
export function isRouteMissing(error: unknown): boolean {
  return error instanceof SourceError && error.code === 'SOURCE_ACCOUNT_NOT_FOUND';
}

/** True when the token is valid but does not reach the account at all (9109), rather than lacking one permission. */
export function isAccountDenied(error: unknown): boolean {
  return error instanceof SourceError && error.details['reason'] === 'account_denied';
}

/** True when the token reaches the account but lacks the permission group this endpoint needs (403, 10000). */
export function isPermissionMissing(error: unknown): boolean {
  return error instanceof SourceError && error.details['reason'] === 'permission_missing';
}

/** The SHA-256 of the token in hex: a stable key for per-token state that never exposes the token. */
export function tokenFingerprint(token: Secret): string {
  return credentialOf(token).fingerprint;
}

// The one place the token is revealed: the header sent on the wire, a one-way fingerprint of it, and the redaction
// of echoes of it in what Cloudflare answers.
function credentialOf(token: Secret): {
  authorization: string;
  fingerprint: string;
  redact: (text: string) => string;
} {
  const value = token.reveal();
  const encoded = encodedForms(value);
  return {
    authorization: `Bearer ${value}`,
    fingerprint: createHash('sha256').update(value).digest('hex'),
    redact: (text) => encoded.reduce((redacted, form) => redactToken(redacted, form), redactToken(text, value)),
  };
}

/**
 * The token as a proxy or an error page may echo it changed: upper- or lower-cased, hex, and base64 (standard and
 * URL-safe) at each of the three alignments it takes inside a longer value such as `Bearer <token>`, less the
 * characters it shares with its neighbours. Runs of 8 or more of their characters are redacted as the token's own.
 */
function encodedForms(value: string): string[] {
  const forms = [value.toUpperCase(), value.toLowerCase(), Buffer.from(value).toString('hex')];
  for (const [pad, shared] of [
    [0, 0],
    [1, 2],
    [2, 3],
  ] as const) {
    const base64 = Buffer.from(`${'\u0000'.repeat(pad)}${value}`)
      .toString('base64')
      .slice(shared, -3);
    forms.push(base64, base64.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return forms.filter((form) => form.length >= 8);
}

/**
 * A copy of `error` and its causes with the token redacted from their messages and stacks; pino logs the messages
 * of the whole cause chain. Name and system error code are kept, which is all callers read of a cause.
 */
function redactedError(error: unknown, redact: (text: string) => string, depth = 0): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? redact(error) : error;
  const cause = depth < 4 && error.cause !== undefined ? redactedError(error.cause, redact, depth + 1) : undefined;
  const copy = new Error(redact(error.message), cause === undefined ? undefined : { cause });
  copy.name = error.name;
  if (error.stack !== undefined) copy.stack = redact(error.stack);
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}

async function readBody(response: Response, path: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) {
    await response.body?.cancel();
    throw invalidResponse(path, response.status, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) {
      throw invalidResponse(path, response.status, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Retry-After is delay-seconds or an HTTP date (RFC 9110 §10.2.3); Cloudflare sends seconds, rounded up. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  // At most MAX_RETRY_AFTER_MS: a day-long Retry-After would stall every source sharing the token's budget.
  // RFC 9110 allows whole seconds; a proxy's decimal seconds are read as meant, not by Date.parse, which takes
  // "1.5" for a date in 2001.
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.min(Math.ceil(Number(trimmed) * 1000), MAX_RETRY_AFTER_MS);
  // An HTTP date names its weekday or month; anything else Date.parse would guess at.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - nowMs), MAX_RETRY_AFTER_MS);
}

// The permissions of the required datasets, in catalogue order: what every zerotrail token must hold.
const BASE_PERMISSIONS: readonly string[] = [
  ...new Set(Object.values(CLOUDFLARE_DATASETS).flatMap((info) => (info.required ? [info.permission] : []))),
];

// The optional datasets' permissions, each with the datasets it opens, in catalogue order.
const OPTIONAL_PERMISSIONS: ReadonlyMap<string, readonly string[]> = Object.entries(CLOUDFLARE_DATASETS).reduce(
  (byPermission, [dataset, info]) =>
    info.required
      ? byPermission
      : byPermission.set(info.permission, [...(byPermission.get(info.permission) ?? []), dataset]),
  new Map<string, string[]>(),
);

/**
 * What to create in place of a token that no longer works: a token with the base permissions, and the optional
 * ones with the datasets each opens. The same words whichever request failed, so the datasets of a source that
 * all fail on one revoked token are reported together, in one line.
 */
export function newTokenAdvice(accountId: string): string {
  const optional = [...OPTIONAL_PERMISSIONS].map(
    ([permission, datasets]) => `"${permission}" (${datasets.join(', ')})`,
  );
  return `Create a new token for account ${accountId} with the read permissions zerotrail needs: ${listOf(
    BASE_PERMISSIONS,
  )}, and for the optional datasets ${joinedWithAnd(optional)}.`;
}

function listOf(permissions: readonly string[]): string {
  return joinedWithAnd(permissions.map((permission) => `"${permission}"`));
}

function joinedWithAnd(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** How a token Cloudflare refuses is replaced, keeping the source and where its collection stands. */
export const REPLACE_TOKEN_HINT =
  'Give the new token the three read permissions README lists. A source already added takes a new one with printf %s "$TOKEN" | zerotrail source set-token NAME --token-stdin, or in the web UI (Data sources → Edit); its cursors and events stay, and collection resumes where it stopped.';

// A complete answer whose records lack what paging or identity needs: no proxy explains that, and skipping the
// record would lose it, so the dataset waits at that page.
const MISMATCH_HINT =
  "The answer was complete JSON, but not shaped as Cloudflare's API description says. Collection retries and stays at this page rather than skip a record; if it lasts, the API has changed: upgrade zerotrail, or report this message.";

function invalidResponse(
  path: string,
  status: number,
  reason: string,
  cause?: unknown,
  hint = 'Usually a connection cut short or a proxy in the way; collection retries on its own. If it lasts, check what sits between this host and the API.',
): SourceError {
  return new SourceError('SOURCE_RESPONSE_INVALID', {
    message: `Cloudflare's answer to ${path} could not be read: ${reason}.`,
    hint,
    details: { path, status, reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

// Paths and expectations only: the values may be customer event data.
function issuesOf(error: z.ZodError | undefined): string {
  if (error === undefined) return 'not an object';
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function describeCodes(errors: readonly ErrorEntry[]): string {
  return errors
    .map((e) => {
      const chain = (e.chain ?? []).map((c) => `${c.code} ${c.message}`).join(', ');
      return chain === '' ? `${e.code} ${e.message}` : `${e.code} ${e.message} (${chain})`;
    })
    .join('; ');
}

function toResultInfo(info: NonNullable<z.infer<typeof envelopeSchema>['result_info']>): ResultInfo {
  const count = typeof info.count === 'string' ? Number(info.count) : info.count;
  const cursor = info.cursor ?? info.cursors?.after ?? null;
  return {
    ...(info.page === undefined ? {} : { page: info.page }),
    ...(info.per_page === undefined ? {} : { perPage: info.per_page }),
    ...(count === undefined || !Number.isFinite(count) ? {} : { count }),
    ...(info.total_count === undefined || info.total_count === null ? {} : { totalCount: info.total_count }),
    ...(info.total_pages === undefined ? {} : { totalPages: info.total_pages }),
    ...(cursor === null ? {} : { cursor }),
  };
}

function networkReason(error: unknown): string {
  // undici reports "fetch failed" and puts the system error (ECONNRESET, ECONNREFUSED, ...) in `cause`.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return error instanceof Error ? error.message : 'unknown error';
}
