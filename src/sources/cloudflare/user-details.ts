import { z } from 'zod';
import { abortReason, deadlinePassed } from '../../core/retry.js';
import { isAppError, SourceError, type AppError, type ErrorCode } from '../../core/errors.js';
import { isAccountDenied, isPermissionMissing, isRouteMissing, type CloudflareClient } from './client.js';
import { CLOUDFLARE_PERMISSIONS } from './datasets/catalogue.js';
import { listResult } from './paginate.js';

/** The permission group the three per-user endpoints need (API-NOTES §2.5 and §4). */
export const USER_DETAILS_PERMISSION = CLOUDFLARE_PERMISSIONS.accessAuditLogs;

/** One failed Access login of the user, as Cloudflare keeps it for a while. */
export interface FailedLogin {
  /** `metadata.datetime` as Cloudflare wrote it; null when absent. */
  readonly time: string | null;
  /** The same instant in epoch ms; null when it does not parse. */
  readonly timeMs: number | null;
  readonly appName: string | null;
  /** The application's audience tag. */
  readonly aud: string | null;
  readonly rayId: string | null;
  readonly userEmail: string | null;
  /** When Cloudflare drops the entry (`expiration`), epoch ms. */
  readonly expiresAtMs: number | null;
}

export interface ActiveSessionApp {
  /** The key Cloudflare files the application under in `metadata.apps`. */
  readonly key: string;
  readonly name: string | null;
  readonly hostname: string | null;
  readonly type: string | null;
  readonly uid: string | null;
}

/** One open Access session of the user. */
export interface ActiveSession {
  readonly name: string | null;
  readonly nonce: string | null;
  readonly issuedAtMs: number | null;
  readonly expiresAtMs: number | null;
  readonly ttlSecs: number | null;
  readonly apps: readonly ActiveSessionApp[];
}

/** One device posture check result carried by the identity. */
export interface PostureResult {
  /** The key of the result in `devicePosture` (the posture rule's id). */
  readonly id: string;
  readonly ruleName: string | null;
  readonly type: string | null;
  /** null when Cloudflare did not say. */
  readonly success: boolean | null;
  readonly error: string | null;
  readonly timestamp: string | null;
}

/** The identity Access built at the user's last authentication. Every field is optional in the API. */
export interface LastSeenIdentity {
  readonly email: string | null;
  readonly userUuid: string | null;
  readonly idpId: string | null;
  readonly idpType: string | null;
  readonly ip: string | null;
  readonly country: string | null;
  readonly isWarp: boolean | null;
  readonly isGateway: boolean | null;
  readonly deviceId: string | null;
  /** `iat`, epoch ms. */
  readonly issuedAtMs: number | null;
  readonly devicePosture: readonly PostureResult[];
  /** How many devices have an authenticated session (`device_sessions`). */
  readonly deviceSessionCount: number;
}

/** Why one part could not be read; the other parts are unaffected. */
export type UserDetailFailureReason =
  /** 404 or 7003: no such user, or (for the identity) the user has not authenticated. */
  | 'not_found'
  /** The token reaches the account but lacks `USER_DETAILS_PERMISSION`. */
  | 'permission_missing'
  /** The token does not reach this account at all. */
  | 'account_denied'
  /** The token is invalid, expired or revoked. */
  | 'token_rejected'
  /** Anything else after the client's retries: rate limits, 5xx, timeouts, unreadable answers. */
  | 'failed';

export interface UserDetailFailure {
  readonly reason: UserDetailFailureReason;
  readonly code: ErrorCode;
  /** What happened and what to do; never holds the token. */
  readonly message: string;
  readonly hint: string | null;
  /** The error as the client raised it, for callers that rethrow it. */
  readonly error: AppError;
}

export type UserDetailPart<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: UserDetailFailure };

/** The live per-user details of one Access user: each part fetched on its own, so one failure spares the others. */
export interface UserDetails {
  readonly userId: string;
  readonly failedLogins: UserDetailPart<readonly FailedLogin[]>;
  readonly activeSessions: UserDetailPart<readonly ActiveSession[]>;
  readonly lastSeenIdentity: UserDetailPart<LastSeenIdentity>;
}

// Shapes: spec-2024 `zero-trust-users-get-*` (shared/cloudflare/openapi-zero-trust.json). Every field is
// optional in the spec, so none is required here: an entry without one shows it as absent instead of failing the
// whole part. Types are checked, so a value is never shown as something it is not.
const optionalText = z.string().optional();

const failedLoginSchema = z.looseObject({
  expiration: z.number().optional(),
  // spec-2024 types metadata only as an object; its example names the keys.
  metadata: z
    .looseObject({
      app_name: optionalText,
      aud: optionalText,
      datetime: optionalText,
      ray_id: optionalText,
      user_email: optionalText,
      user_uuid: optionalText,
    })
    .optional(),
});

const failedLoginsSchema = listResult(failedLoginSchema);

const sessionAppSchema = z.looseObject({
  hostname: optionalText,
  name: optionalText,
  type: optionalText,
  uid: optionalText,
});

const activeSessionSchema = z.looseObject({
  expiration: z.number().optional(),
  name: optionalText,
  metadata: z
    .looseObject({
      apps: z.record(z.string(), sessionAppSchema).optional(),
      expires: z.number().optional(),
      iat: z.number().optional(),
      nonce: optionalText,
      ttl: z.number().optional(),
    })
    .optional(),
});

const activeSessionsSchema = listResult(activeSessionSchema);

const postureSchema = z.looseObject({
  id: optionalText,
  rule_name: optionalText,
  type: optionalText,
  success: z.boolean().optional(),
  error: optionalText,
  timestamp: optionalText,
});

const identitySchema = z.looseObject({
  email: optionalText,
  user_uuid: optionalText,
  idp: z.looseObject({ id: optionalText, type: optionalText }).optional(),
  ip: optionalText,
  geo: z.looseObject({ country: optionalText }).optional(),
  is_warp: z.boolean().optional(),
  is_gateway: z.boolean().optional(),
  device_id: optionalText,
  iat: z.number().optional(),
  devicePosture: z.record(z.string(), postureSchema).optional(),
  device_sessions: z.record(z.string(), z.unknown()).optional(),
});

function orNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}

// Empty strings are how the API says "none" (device_id, common_name); show them as absent.
function textOrNull(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

function epochMs(secs: number | undefined): number | null {
  return secs === undefined || !Number.isFinite(secs) ? null : secs * 1000;
}

function toFailedLogin(item: z.output<typeof failedLoginSchema>): FailedLogin {
  const metadata = item.metadata ?? {};
  const time = textOrNull(metadata.datetime);
  const parsed = time === null ? NaN : Date.parse(time);
  return {
    time,
    timeMs: Number.isNaN(parsed) ? null : parsed,
    appName: textOrNull(metadata.app_name),
    aud: textOrNull(metadata.aud),
    rayId: textOrNull(metadata.ray_id),
    userEmail: textOrNull(metadata.user_email),
    expiresAtMs: epochMs(item.expiration),
  };
}

function toActiveSession(item: z.output<typeof activeSessionSchema>): ActiveSession {
  const metadata = item.metadata ?? {};
  return {
    name: textOrNull(item.name),
    nonce: textOrNull(metadata.nonce),
    issuedAtMs: epochMs(metadata.iat),
    expiresAtMs: epochMs(metadata.expires),
    ttlSecs: orNull(metadata.ttl),
    apps: Object.entries(metadata.apps ?? {}).map(([key, app]) => ({
      key,
      name: textOrNull(app.name),
      hostname: textOrNull(app.hostname),
      type: textOrNull(app.type),
      uid: textOrNull(app.uid),
    })),
  };
}

function toIdentity(item: z.output<typeof identitySchema>): LastSeenIdentity {
  return {
    email: textOrNull(item.email),
    userUuid: textOrNull(item.user_uuid),
    idpId: textOrNull(item.idp?.id),
    idpType: textOrNull(item.idp?.type),
    ip: textOrNull(item.ip),
    country: textOrNull(item.geo?.country),
    isWarp: orNull(item.is_warp),
    isGateway: orNull(item.is_gateway),
    deviceId: textOrNull(item.device_id),
    issuedAtMs: epochMs(item.iat),
    devicePosture: Object.entries(item.devicePosture ?? {}).map(([id, result]) => ({
      id,
      ruleName: textOrNull(result.rule_name),
      type: textOrNull(result.type),
      success: orNull(result.success),
      error: textOrNull(result.error),
      timestamp: textOrNull(result.timestamp),
    })),
    deviceSessionCount: Object.keys(item.device_sessions ?? {}).length,
  };
}

function failureOf(error: AppError, label: string): UserDetailFailure {
  const base = { code: error.code, hint: error.hint ?? null, error };
  if (isRouteMissing(error)) {
    // The client words a 404 as an unknown account; here the account answered the inventory, so it is the user.
    return {
      ...base,
      reason: 'not_found',
      message:
        label === 'last seen identity'
          ? 'Cloudflare has no last seen identity for this user: the user has not authenticated recently, or the user id is unknown.'
          : `Cloudflare does not know this user id, so it has no ${label}.`,
    };
  }
  const reason: UserDetailFailureReason = isPermissionMissing(error)
    ? 'permission_missing'
    : isAccountDenied(error)
      ? 'account_denied'
      : error.code === 'SOURCE_AUTH_FAILED' || error.code === 'SOURCE_TOKEN_INVALID'
        ? 'token_rejected'
        : 'failed';
  return { ...base, reason, message: error.message };
}

async function part<T>(label: string, signal: AbortSignal, read: () => Promise<T>): Promise<UserDetailPart<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    // A deadline running out is Cloudflare not answering in time, reported like any other unanswered part, so the
    // stored facts shown next to it are kept; only the user cancelling stops the whole lookup.
    if (deadlinePassed(signal)) {
      const timeout = new SourceError('SOURCE_TIMEOUT', {
        message: `Cloudflare did not answer the request for the ${label} in time.`,
        hint: 'Usually temporary: run the command again. zerotrail source test NAME shows whether Cloudflare can be reached.',
        cause: error,
      });
      return { ok: false, failure: failureOf(timeout, label) };
    }
    if (signal.aborted) throw abortReason(signal);
    if (!isAppError(error)) throw error;
    return { ok: false, failure: failureOf(error, label) };
  }
}

/**
 * Reads a user's failed logins, active sessions and last seen identity live from the API (single responses, no
 * paging), the three requests in parallel. A part Cloudflare refuses or cannot answer is reported in its place
 * with the reason, a deadline on `signal` that runs out included; only cancellation and programming errors reject.
 */
export async function fetchUserDetails(
  client: CloudflareClient,
  userId: string,
  signal: AbortSignal,
): Promise<UserDetails> {
  const base = client.accountPath(`/access/users/${encodeURIComponent(userId)}`);
  const options = { permission: USER_DETAILS_PERMISSION };
  const [failedLogins, activeSessions, lastSeenIdentity] = await Promise.all([
    part('failed logins', signal, async () => {
      const response = await client.get(`${base}/failed_logins`, {}, failedLoginsSchema, signal, options);
      return response.result.map(toFailedLogin);
    }),
    part('active sessions', signal, async () => {
      const response = await client.get(`${base}/active_sessions`, {}, activeSessionsSchema, signal, options);
      return response.result.map(toActiveSession);
    }),
    part('last seen identity', signal, async () => {
      const response = await client.get(`${base}/last_seen_identity`, {}, identitySchema, signal, options);
      return toIdentity(response.result);
    }),
  ]);
  return { userId, failedLogins, activeSessions, lastSeenIdentity };
}
