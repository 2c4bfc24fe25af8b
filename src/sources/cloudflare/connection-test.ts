import { z } from 'zod';
import type { DatasetState } from '../../core/dataset-status.js';
import { SourceError } from '../../core/errors.js';
import { abortReason, deadlinePassed } from '../../core/retry.js';
import { isAccountDenied, isPermissionMissing, isRouteMissing, type CloudflareClient, type Query } from './client.js';
import { ACCESS_REQUESTS_PATH } from './datasets/access-requests.js';
import { AUDIT_LOGS_V1_PATH, AUDIT_LOGS_V2_PATH } from './datasets/audit-logs.js';
import { CLOUDFLARE_DATASET_IDS, CLOUDFLARE_DATASETS, type CloudflareDatasetId } from './datasets/catalogue.js';
import { DEPRECATED_DEVICES_PATH, PHYSICAL_DEVICES_PATH } from './datasets/devices.js';
import { GATEWAY_ACCOUNT_PATH } from './datasets/gateway.js';
import { LIST_INVENTORIES } from './datasets/list-inventory.js';
import { ORGANIZATION_PATH } from './datasets/organization.js';
import { SCIM_UPDATES_PATH } from './datasets/scim-updates.js';
import { formatTimestamp } from './parse-timestamp.js';
import { UNANSWERED_HINT, verifyToken, type TokenStatus } from './verify.js';

/** What one probe found out about one dataset. */
export interface DatasetCheck {
  readonly dataset: CloudflareDatasetId;
  /** The dataset can be collected with this token. */
  readonly ok: boolean;
  readonly state: DatasetState;
  readonly required: boolean;
  readonly permission: string;
  /** What was found; for a failure, what to do about it. */
  readonly message: string;
}

export interface ConnectionReport {
  readonly token: TokenStatus;
  /** Each starts in lower case, to follow a `warning: ` prefix. */
  readonly warnings: readonly string[];
  /** One check per dataset, in catalogue order. */
  readonly datasets: readonly DatasetCheck[];
  /** A required dataset failed because the token lacks its permission (not because of a rate limit or outage). */
  readonly requiredMissing: boolean;
}

// A token that expires within this window still works today, but collection will stop soon.
const EXPIRY_WARNING_MS = 14 * 86_400_000;
const DAY_MS = 86_400_000;
// Permission groups that let a token change the account rather than read it.
const WRITE_PERMISSION = /\b(Write|Edit|Revoke)\b/;

const anything = z.unknown();
const list = z.array(z.unknown());
const identityProviders = z.array(z.looseObject({ id: z.string().min(1) }));
// GET /user/tokens/{token_id} (spec-2024 iam_token): only the permission groups of each policy are read.
const tokenDetailsSchema = z.looseObject({
  policies: z.array(
    z.looseObject({
      effect: z.string().optional(),
      permission_groups: z.array(z.looseObject({ name: z.string().optional() })),
    }),
  ),
});

/** What a successful probe found: a note for the user, and for identity providers one id the SCIM probe needs. */
interface ProbeResult {
  readonly note?: string;
  readonly identityProvider?: string;
}
type Probe = (context: ProbeContext) => Promise<ProbeResult>;

interface ProbeContext {
  readonly client: CloudflareClient;
  readonly signal: AbortSignal;
  readonly nowMs: number;
  readonly permission: string;
  /** One identity provider id, or null when the account has none (only the SCIM probe is given one). */
  readonly identityProvider: string | null;
}

/**
 * Checks that Cloudflare accepts the token and that it is active (verify.ts), then probes every dataset with one
 * small request and reports which can be collected and, for each that cannot, the permission to add. The account
 * counts as reachable when any probe reads it (or when the token is owned by the account); when none does and
 * Cloudflare says the account is unknown or out of the token's reach, that error is thrown, since no dataset can
 * be collected. A token that can change the account gets a warning, when the token may read its own details.
 */
export async function testConnection(
  client: CloudflareClient,
  options: { signal: AbortSignal; nowMs: number },
): Promise<ConnectionReport> {
  try {
    return await testWithin(client, options);
  } catch (error) {
    // The test's own deadline running out is Cloudflare not answering, not a stop the user asked for, which the same
    // abort would otherwise be taken for and reported as an internal failure.
    if (error instanceof SourceError || !deadlinePassed(options.signal)) throw error;
    throw new SourceError('SOURCE_TIMEOUT', {
      message: 'Cloudflare did not answer every check of the connection test in time.',
      hint: UNANSWERED_HINT,
      cause: error,
    });
  }
}

async function testWithin(
  client: CloudflareClient,
  options: { signal: AbortSignal; nowMs: number },
): Promise<ConnectionReport> {
  const { signal, nowMs } = options;
  const token = await verifyToken(client, signal);
  const warnings: string[] = [];
  if (token.expiresOn !== undefined) {
    const expiresMs = Date.parse(token.expiresOn);
    if (!Number.isNaN(expiresMs) && expiresMs - nowMs < EXPIRY_WARNING_MS) {
      warnings.push(`the token expires on ${token.expiresOn}; create a new one before then or collection stops.`);
    }
  }

  const outcomes = await runProbes(client, signal, nowMs);
  const reached = token.owner === 'account' || outcomes.some((outcome) => outcome.error === undefined);
  if (!reached) {
    const unreachable = outcomes.find((o) => isAccountDenied(o.error) || isRouteMissing(o.error))?.error;
    if (unreachable !== undefined) throw unreachable;
    if (outcomes.some((o) => isPermissionMissing(o.error))) {
      warnings.push(
        `no dataset could be read: check that the token includes account ${client.accountId} under Account Resources, as well as the permissions listed.`,
      );
    }
  }

  const datasets = outcomes.map((outcome) => check(outcome, client.accountId, token));
  const writable = await writablePermissions(client, token, signal);
  if (writable.length > 0) {
    warnings.push(
      `the token can change the account (${writable.join(', ')}); zerotrail only needs read access. Create a token with only the Read permissions listed and use it instead.`,
    );
  }
  const requiredMissing = datasets.some((row) => row.required && row.state === 'permission_missing');
  return { token, warnings, datasets, requiredMissing };
}

interface Outcome {
  readonly dataset: CloudflareDatasetId;
  readonly error?: SourceError;
  readonly result?: ProbeResult;
}

/** Every probe at once (the rate budget paces them); the SCIM probe waits for an identity provider id. */
async function runProbes(client: CloudflareClient, signal: AbortSignal, nowMs: number): Promise<Outcome[]> {
  const run = async (dataset: CloudflareDatasetId, identityProvider: string | null = null): Promise<Outcome> => {
    const permission = CLOUDFLARE_DATASETS[dataset].permission;
    try {
      return { dataset, result: await PROBES[dataset]({ client, signal, nowMs, permission, identityProvider }) };
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      if (!(error instanceof SourceError)) throw error;
      return { dataset, error };
    }
  };
  const identityProviders = run('identity_providers');
  const scim = identityProviders.then((outcome) =>
    outcome.error === undefined
      ? run('scim_updates', outcome.result?.identityProvider ?? null)
      : { dataset: 'scim_updates' as const, error: identityProvidersUnreadable(outcome.error) },
  );
  return Promise.all(
    CLOUDFLARE_DATASET_IDS.map((dataset) =>
      dataset === 'identity_providers' ? identityProviders : dataset === 'scim_updates' ? scim : run(dataset),
    ),
  );
}

function identityProvidersUnreadable(cause: SourceError): SourceError {
  return new SourceError(cause.code, {
    message: `Could not be checked: SCIM logs are read per identity provider, and listing those needs "${CLOUDFLARE_DATASETS.identity_providers.permission}".`,
    details: { reason: 'identity_providers_unreadable' },
    cause,
  });
}

function getter(path: string, query: Query = {}, schema: z.ZodType = list): Probe {
  return async ({ client, signal, permission }) => {
    await client.get(client.accountPath(path), query, schema, signal, { permission });
    return {};
  };
}

const PROBES: Readonly<Record<CloudflareDatasetId, Probe>> = {
  access_requests: getter(ACCESS_REQUESTS_PATH, { limit: 1, direction: 'desc' }),
  access_users: getter(LIST_INVENTORIES.access_users.path, { per_page: 1 }),
  organization: getter(ORGANIZATION_PATH, {}, anything),
  identity_providers: async ({ client, signal, permission }) => {
    const { result } = await client.get(
      client.accountPath(LIST_INVENTORIES.identity_providers.path),
      { per_page: 1 },
      identityProviders,
      signal,
      { permission },
    );
    const first = result[0]?.id;
    return first === undefined ? {} : { identityProvider: first };
  },
  groups: getter(LIST_INVENTORIES.groups.path, { per_page: 1 }),
  gateway: getter(GATEWAY_ACCOUNT_PATH, {}, anything),
  devices: async ({ client, signal, permission }) => {
    try {
      await client.get(client.accountPath(PHYSICAL_DEVICES_PATH), { per_page: 1 }, list, signal, { permission });
      return {};
    } catch (error) {
      if (!isRouteMissing(error)) throw error;
      await client.get(client.accountPath(DEPRECATED_DEVICES_PATH), {}, list, signal, { permission });
      return { note: 'This account has no physical devices endpoint; devices are read from the deprecated list.' };
    }
  },
  apps: getter(LIST_INVENTORIES.apps.path, { per_page: 1 }),
  policies: getter(LIST_INVENTORIES.policies.path, { per_page: 1 }),
  scim_updates: async ({ client, signal, permission, identityProvider }) => {
    if (identityProvider === null) {
      return {
        note: `Not checked: the account has no identity provider, so there are no SCIM logs yet. Reading them will need "${permission}".`,
      };
    }
    await client.get(client.accountPath(SCIM_UPDATES_PATH), { idp_id: [identityProvider], per_page: 1 }, list, signal, {
      permission,
    });
    return {};
  },
  audit_logs: async ({ client, signal, permission, nowMs }) => {
    try {
      await client.get(
        client.accountPath(AUDIT_LOGS_V2_PATH),
        { since: formatTimestamp(nowMs - DAY_MS), before: formatTimestamp(nowMs), limit: 1 },
        list,
        signal,
        { permission },
      );
      return {};
    } catch (error) {
      if (!isRouteMissing(error)) throw error;
      await client.get(client.accountPath(AUDIT_LOGS_V1_PATH), { per_page: 1 }, list, signal, { permission });
      return { note: 'Audit Logs v2 is not available for this account; the v1 audit log is read instead.' };
    }
  },
};

function check(outcome: Outcome, accountId: string, token: TokenStatus): DatasetCheck {
  const info = CLOUDFLARE_DATASETS[outcome.dataset];
  const base = { dataset: outcome.dataset, required: info.required, permission: info.permission };
  const { error } = outcome;
  if (error === undefined) {
    return {
      ...base,
      ok: true,
      state: 'readable',
      message: outcome.result?.note ?? `Readable with "${info.permission}".`,
    };
  }
  const where =
    token.owner === 'account'
      ? 'Manage Account → Account API Tokens → edit the token'
      : 'My Profile → API Tokens → edit the token';
  let message: string;
  let state: DatasetState = 'unchecked';
  if (isPermissionMissing(error)) {
    message = `The token lacks "${info.permission}". Add it in the Cloudflare dashboard: ${where} → add "${info.permission}" for account ${accountId}. ${info.withoutIt}`;
    state = 'permission_missing';
  } else if (error.details['reason'] === 'identity_providers_unreadable') {
    message = `${error.message} ${info.withoutIt}`;
    state = 'permission_missing';
  } else if (error.retryable) {
    // A rate limit, an outage or a network fault says nothing about the token's permissions.
    message = `Could not be checked, not a permission problem: ${error.message} Run the test again later.`;
  } else {
    message = `Could not be checked: ${error.message}`;
  }
  return { ...base, ok: false, state, message };
}

/**
 * The names of the token's permission groups that can change something, read from GET /user/tokens/{token_id}.
 * A token may read its own details only with "API Tokens Read"; without it (or for an account-owned token, which
 * that endpoint does not know) the check is skipped: it only adds a warning.
 */
async function writablePermissions(
  client: CloudflareClient,
  token: TokenStatus,
  signal: AbortSignal,
): Promise<readonly string[]> {
  if (token.owner !== 'user') {
    client.logger.debug({ owner: token.owner }, 'Token permissions not checked for write access');
    return [];
  }
  try {
    const { result } = await client.get(`/user/tokens/${encodeURIComponent(token.id)}`, {}, tokenDetailsSchema, signal);
    const names = result.policies
      .filter((policy) => policy.effect === undefined || policy.effect === 'allow')
      .flatMap((policy) => policy.permission_groups.map((group) => group.name ?? ''))
      .filter((name) => WRITE_PERMISSION.test(name));
    return [...new Set(names.map((name) => client.redact(name)))].sort();
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    if (!(error instanceof SourceError)) throw error;
    client.logger.debug({ code: error.code }, 'Token permissions not readable; write access not checked');
    return [];
  }
}

/**
 * Throws unless every required dataset is readable: when the token lacks one of the three base permissions, or
 * else when a required dataset could not be checked at all (a rate limit, an outage), which proves nothing about
 * the token either way. Optional datasets are extras and never do. `retry` says how the caller's user tries again
 * once the permission is added ("run the same zerotrail source add again"): a refused add stored nothing that a
 * later `source test` could find.
 */
export function failUnlessRequiredReadable(report: ConnectionReport, retry: string): void {
  const missing = report.datasets.filter((row) => row.required && row.state === 'permission_missing');
  if (missing.length > 0) {
    const permissions = [...new Set(missing.map((row) => row.permission))];
    throw new SourceError('SOURCE_PERMISSION_DENIED', {
      message: `The token cannot read ${missing.map((row) => row.dataset).join(', ')}: it lacks ${permissions.join(' and ')}.`,
      hint: `In the Cloudflare dashboard open My Profile → API Tokens, edit the token and add ${permissions
        .map((permission) => `"${permission}"`)
        .join(' and ')} for this account, then ${retry}.`,
    });
  }
  const unchecked = report.datasets.filter((row) => row.required && row.state === 'unchecked');
  if (unchecked.length > 0) {
    throw new SourceError('SOURCE_UNAVAILABLE', {
      message: `Could not check whether the token reads ${unchecked.map((row) => row.dataset).join(', ')}: the checks failed for a reason other than a permission (each dataset's row says which).`,
      hint: 'Test again in a few minutes. The CLI adds a source without checking it online with source add --no-verify.',
      retryable: true,
    });
  }
}
