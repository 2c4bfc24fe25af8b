import { z } from 'zod';
import { SourceError } from '../../core/errors.js';
import { deadlinePassed } from '../../core/retry.js';
import { newTokenAdvice, REPLACE_TOKEN_HINT, type CloudflareClient } from './client.js';
import { ACCESS_REQUESTS_PATH, ACCESS_REQUESTS_PERMISSION } from './datasets/access-requests.js';
import { listResult } from './paginate.js';

// Both verify endpoints answer with { id, status, expires_on?, not_before? } (API-NOTES §2.6).
const tokenStatusSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  expires_on: z.string().optional(),
  not_before: z.string().optional(),
});

export interface TokenStatus {
  readonly id: string;
  /** `active`, `disabled` or `expired` today; other values are passed on as Cloudflare sends them. */
  readonly status: string;
  readonly expiresOn?: string;
  /** Which endpoint accepted the token: user tokens and account-owned tokens verify in different places. */
  readonly owner: 'user' | 'account';
}

/**
 * Checks that Cloudflare accepts the token and that it is active. Tries `/user/tokens/verify` first and, when
 * that rejects the token, `/accounts/{account_id}/tokens/verify`: account-owned tokens only verify there.
 * Throws `SOURCE_AUTH_FAILED` for a disabled or expired token.
 */
export async function verifyToken(
  client: CloudflareClient,
  signal: AbortSignal = AbortSignal.timeout(60_000),
): Promise<TokenStatus> {
  let status: TokenStatus;
  try {
    status = await readTokenStatus(client, signal);
  } catch (error) {
    // The caller's deadline running out is Cloudflare not answering in time, not the user cancelling.
    if (!deadlinePassed(signal)) throw error;
    throw new SourceError('SOURCE_TIMEOUT', {
      message: 'Cloudflare did not answer the token check in time, so the token could not be verified.',
      hint: UNANSWERED_HINT,
      cause: error,
    });
  }
  if (status.status !== 'active') {
    throw new SourceError('SOURCE_AUTH_FAILED', {
      message: `The API token is ${status.status}${
        status.expiresOn === undefined ? '' : ` (expires_on ${status.expiresOn})`
      }. ${newTokenAdvice(client.accountId)}`,
      hint: REPLACE_TOKEN_HINT,
      details: { tokenId: status.id, status: status.status, owner: status.owner },
    });
  }
  return status;
}

/**
 * Reads one Access authentication event to prove the token holds `Access: Audit Logs Read` on the account.
 * Resolves with the newest event's time, or null when the account has none in its retention.
 */
export async function probeAccessRequests(
  client: CloudflareClient,
  signal: AbortSignal = AbortSignal.timeout(60_000),
): Promise<{ readonly newestEventAt: string | null }> {
  const { result } = await client.get(
    client.accountPath(ACCESS_REQUESTS_PATH),
    { limit: 1, direction: 'desc' },
    listResult(z.looseObject({ created_at: z.string() })),
    signal,
    { permission: ACCESS_REQUESTS_PERMISSION },
  );
  return { newestEventAt: result[0]?.created_at ?? null };
}

/** What to do when Cloudflare accepted the connection but did not answer a check in time. */
export const UNANSWERED_HINT =
  'Usually temporary: try again in a few minutes. If it keeps happening, check that this machine can reach api.cloudflare.com (or the configured base URL).';

async function readTokenStatus(client: CloudflareClient, signal: AbortSignal): Promise<TokenStatus> {
  try {
    return toStatus(client, (await client.get('/user/tokens/verify', {}, tokenStatusSchema, signal)).result, 'user');
  } catch (error) {
    // The user endpoint answers 401 for an account-owned token; any other failure is the answer itself.
    if (!(error instanceof SourceError) || error.code !== 'SOURCE_AUTH_FAILED') throw error;
    return toStatus(
      client,
      (await client.get(client.accountPath('/tokens/verify'), {}, tokenStatusSchema, signal)).result,
      'account',
    );
  }
}

// Every value is shown as text (messages, `source test`, the API), so an echo of the token in one is redacted.
function toStatus(
  client: CloudflareClient,
  result: z.infer<typeof tokenStatusSchema>,
  owner: 'user' | 'account',
): TokenStatus {
  return {
    id: client.redact(result.id),
    status: client.redact(result.status),
    owner,
    ...(result.expires_on === undefined ? {} : { expiresOn: client.redact(result.expires_on) }),
  };
}
