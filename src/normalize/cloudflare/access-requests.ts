import type { NormalizedEvent, Outcome, SharedText } from '../../core/event.js';
import { canonicalIp } from '../canonical-ip.js';
import { eventId } from '../event-id.js';
import { rfc3339ToMs } from '../../core/rfc3339-to-ms.js';
import type { NormalizeMeta, Normalizer } from '../schema.js';
import {
  OCSF_VERSION,
  OTHER_ACTIVITY_ID,
  UNKNOWN_NAME,
  asRecord,
  flatString,
  isOcsfEmail,
  ocsfTypeName,
  sanitizeValue,
  wellFormed,
} from '../schema.js';

// OCSF Authentication class (IAM category). See docs/ocsf-mapping.md for the full field table.
const CATEGORY_UID = 3;
const CLASS_UID = 3002;

// The documented response fields (spec-2024 `access_access-requests`). Any other key is kept in
// `unmapped`; `country`/`country_code` are read only because the dashboard shows a country and the
// API filters on `country_code` (API-NOTES §2.1), although no response example includes one.
const MAPPED_KEYS = new Set([
  'action',
  'allowed',
  'app_domain',
  'app_uid',
  'connection',
  'created_at',
  'ip_address',
  'ray_id',
  'user_email',
]);
const COUNTRY_KEYS = ['country', 'country_code'] as const;

const ACTIVITIES = {
  login: { id: 1, name: 'Logon' },
  logout: { id: 2, name: 'Logoff' },
} as const satisfies Record<string, { id: number; name: string }>;

// Cloudflare's `connection` is the IdP type. Only protocol-named values map to an OCSF protocol; vendor
// IdPs ("okta", "azureAD", "google", "onetimepin", ...) hide which protocol they used, so they stay Other.
const AUTH_PROTOCOLS: Readonly<Record<string, { id: number; name: string }>> = {
  saml: { id: 5, name: 'SAML' },
  oidc: { id: 4, name: 'OpenID' },
};
const AUTH_PROTOCOL_OTHER = 99;
const ACCESS_SERVICE_NAME = 'Cloudflare Access';

const STATUS = {
  success: { id: 1, name: 'Success' },
  failure: { id: 2, name: 'Failure' },
  unknown: { id: 0, name: 'Unknown' },
} as const satisfies Record<Outcome, { id: number; name: string }>;

// A denied Access login is routine (a policy said no, a session expired), so one alone is Low, not
// Medium; the signal is in volume, which detection rules count. See docs/ocsf-mapping.md.
const SEVERITY = {
  success: { id: 1, name: 'Informational' },
  failure: { id: 2, name: 'Low' },
  unknown: { id: 1, name: 'Informational' },
} as const satisfies Record<Outcome, { id: number; name: string }>;

const MESSAGE_VERB = { success: 'allowed', failure: 'denied', unknown: 'with unknown result' } as const;

function stringField(record: Readonly<Record<string, unknown>>, key: string): string | null {
  const value = record[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

// app_domain is documented as "the URL of the Access application", e.g. `test.example.com/admin`; the
// host part becomes dst_endpoint.hostname when it looks like a host name.
function hostnameOf(appDomain: string): string | null {
  const host = appDomain.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?#]/, 1)[0] ?? '';
  const withoutPort = host.replace(/:\d+$/, '');
  return /^[a-z0-9*](?:[a-z0-9.*-]{0,251}[a-z0-9])?$/i.test(withoutPort) ? withoutPort.toLowerCase() : null;
}

// A user logs in from a few addresses again and again, and parsing an IPv6 address costs microseconds; the
// map is emptied when full, so it stays small whatever the traffic.
const CANONICAL_IPS = new Map<string, string | null>();
const MAX_CACHED_IPS = 10_000;

function cachedCanonicalIp(text: string): string | null {
  let canonical = CANONICAL_IPS.get(text);
  if (canonical === undefined) {
    canonical = canonicalIp(text);
    if (CANONICAL_IPS.size >= MAX_CACHED_IPS) CANONICAL_IPS.clear();
    CANONICAL_IPS.set(text, canonical);
  }
  return canonical;
}

function countryOf(record: Readonly<Record<string, unknown>>): { key: string; code: string } | null {
  for (const key of COUNTRY_KEYS) {
    const value = record[key];
    if (typeof value === 'string' && /^[A-Za-z]{2}$/.test(value)) return { key, code: value.toUpperCase() };
  }
  return null;
}

// Access names a user by e-mail alone: it is the user's name, and their email_addr when OCSF takes it as one.
function userOf(email: string): Record<string, string> {
  const name = wellFormed(email);
  return isOcsfEmail(email) ? { email_addr: name, name } : { name };
}

/**
 * Maps one Cloudflare Access authentication log record (GET /accounts/{id}/access/logs/access_requests)
 * to OCSF Authentication (3002). Rejects only what has no usable `created_at`.
 */
export const normalizeAccessRequest: Normalizer = (raw, meta) => {
  const record = asRecord(raw);
  if (record === null) return { rejected: true, reason: 'record is not a JSON object' };
  const createdAt = record['created_at'];
  if (createdAt === undefined || createdAt === null) {
    return { rejected: true, reason: 'created_at is missing' };
  }
  if (typeof createdAt !== 'string') return { rejected: true, reason: 'created_at is not a string' };
  const time = rfc3339ToMs(createdAt);
  if (time === null) return { rejected: true, reason: 'created_at is not an RFC 3339 date-time' };

  const action = typeof record['action'] === 'string' ? record['action'] : null;
  const allowedValue = record['allowed'];
  // The description gives `allowed` the default false, so a record without it (as a JSON encoder that omits
  // false values writes it) is a denial; a value that is not a boolean stays unknown and is kept in unmapped.
  const allowed = allowedValue === undefined ? false : typeof allowedValue === 'boolean' ? allowedValue : null;
  const email = stringField(record, 'user_email');
  const ipText = stringField(record, 'ip_address');
  const ip = ipText === null ? null : cachedCanonicalIp(ipText);
  const appDomain = stringField(record, 'app_domain');
  const appUid = stringField(record, 'app_uid');
  const connection = stringField(record, 'connection');
  const rayId = stringField(record, 'ray_id');
  const country = countryOf(record);

  const known =
    action !== null && Object.hasOwn(ACTIVITIES, action) ? ACTIVITIES[action as keyof typeof ACTIVITIES] : null;
  const activityId = known?.id ?? OTHER_ACTIVITY_ID;
  const activityName = known?.name ?? (action === null || action === '' ? 'Other' : wellFormed(action));
  const outcome: Outcome = allowed === null ? 'unknown' : allowed ? 'success' : 'failure';
  const protocol = connection === null ? null : (AUTH_PROTOCOLS[connection.toLowerCase()] ?? null);

  // Values we could not map (wrong type, not an address, ...) are kept rather than dropped.
  const unmapped: [string, unknown][] = [];
  // for-in over a parsed JSON object: own keys in order, without an entries array per event.
  for (const key in record) {
    if (MAPPED_KEYS.has(key) || key === country?.key || !Object.hasOwn(record, key)) continue;
    unmapped.push([key, record[key]]);
  }
  if (record['action'] !== undefined && action === null) unmapped.push(['action', record['action']]);
  if (record['allowed'] !== undefined && allowed === null) unmapped.push(['allowed', record['allowed']]);
  if (ipText !== null && ip === null) unmapped.push(['ip_address', ipText]);
  for (const key of ['user_email', 'app_domain', 'app_uid', 'connection', 'ray_id']) {
    const value = record[key];
    if (value !== undefined && typeof value !== 'string') unmapped.push([key, value]);
  }

  const hostname = appDomain === null ? null : hostnameOf(appDomain);
  // Members that are the same for every event of one kind come first, `time` after them, so that the JSON of
  // each event begins with its kind's head text (see headOf). Optional members are added in the order the golden
  // files show them; building with assignments instead of conditional spreads saves a temporary object per
  // member on every event.
  const metadata: Record<string, unknown> = {
    version: OCSF_VERSION,
    product: { name: 'Cloudflare Zero Trust', vendor_name: 'Cloudflare', feature: { name: 'Access' } },
    log_name: wellFormed(meta.dataset),
    log_provider: 'Cloudflare API',
    tenant_uid: wellFormed(meta.accountId),
    labels: [`source:${wellFormed(meta.sourceName)}`],
    original_time: wellFormed(createdAt),
  };
  if (rayId !== null) metadata['uid'] = wellFormed(rayId);
  if (action !== null && action !== '') metadata['event_code'] = wellFormed(action);
  const ocsf: Record<string, unknown> = {
    activity_id: activityId,
    activity_name: activityName,
    category_uid: CATEGORY_UID,
    category_name: 'Identity & Access Management',
    class_uid: CLASS_UID,
    class_name: 'Authentication',
    type_uid: CLASS_UID * 100 + activityId,
    type_name: ocsfTypeName('Authentication', activityId, activityName),
    severity_id: SEVERITY[outcome].id,
    severity: SEVERITY[outcome].name,
    status_id: STATUS[outcome].id,
    status: STATUS[outcome].name,
    message: `Cloudflare Access ${known === null ? 'event' : known.name.toLowerCase()} ${MESSAGE_VERB[outcome]}`,
    metadata,
    time,
    // OCSF's user needs a name or a uid; a record without an e-mail gives neither, so it says the user is unknown.
    user: email === null ? { name: UNKNOWN_NAME } : userOf(email),
    is_remote: true,
  };
  if (ip !== null || country !== null) {
    const srcEndpoint: Record<string, unknown> = {};
    if (ip !== null) srcEndpoint['ip'] = ip;
    if (country !== null) srcEndpoint['location'] = { country: country.code };
    ocsf['src_endpoint'] = srcEndpoint;
  }
  if (appDomain !== null || appUid !== null) {
    const service: Record<string, unknown> = {};
    if (appDomain !== null) service['name'] = wellFormed(appDomain);
    if (appUid !== null) service['uid'] = wellFormed(appUid);
    ocsf['service'] = service;
  } else {
    // Authentication needs a service or a destination. Without an application the record still comes from
    // Access, which is what the user authenticated to.
    ocsf['service'] = { name: ACCESS_SERVICE_NAME };
  }
  if (hostname !== null) ocsf['dst_endpoint'] = { hostname };
  if (connection !== null) {
    ocsf['auth_protocol_id'] = protocol?.id ?? AUTH_PROTOCOL_OTHER;
    ocsf['auth_protocol'] = protocol?.name ?? wellFormed(connection);
  }
  if (unmapped.length > 0) ocsf['unmapped'] = sanitizeValue(Object.fromEntries(unmapped));

  const event: NormalizedEvent = {
    id: eventId(time, [
      meta.accountId,
      meta.dataset,
      record['ray_id'],
      time,
      record['action'],
      record['user_email'],
      record['app_uid'],
      record['allowed'],
      record['ip_address'],
      record['connection'],
    ]),
    time,
    sourceName: meta.sourceName,
    accountId: meta.accountId,
    dataset: meta.dataset,
    classUid: CLASS_UID,
    activity: known === null ? 'other' : known.name.toLowerCase(),
    outcome,
    user: email === null ? null : flatString(email.toLowerCase()),
    srcIp: ip,
    country: country?.code ?? null,
    app: appDomain === null ? null : flatString(appDomain),
    appUid: appUid === null ? null : flatString(appUid),
    idp: connection === null ? null : flatString(connection),
    rayId: rayId === null ? null : flatString(rayId),
    ocsf,
    raw,
    ocsfHead: headOf(meta, outcome, action ?? '', ocsf),
  };
  return event;
};

// The head texts by the run's meta, then by outcome and action: with them, every member of the head is fixed.
const HEADS = new WeakMap<NormalizeMeta, Map<string, SharedText>>();
// Actions are the API's strings; past this many kinds per meta the map starts over.
const MAX_HEADS = 256;
// The members of `metadata` that belong to the head, in their order; `original_time` follows them.
const HEAD_METADATA_KEYS = ['version', 'product', 'log_name', 'log_provider', 'tenant_uid', 'labels'] as const;

/**
 * The text every event of this kind begins with: its members up to `metadata`, and `metadata` up to its
 * `labels`, computed once from the first event of the kind.
 */
function headOf(meta: NormalizeMeta, outcome: Outcome, action: string, ocsf: Record<string, unknown>): SharedText {
  let heads = HEADS.get(meta);
  if (heads === undefined) {
    heads = new Map();
    HEADS.set(meta, heads);
  }
  const key = `${outcome}\u0000${action}`;
  let head = heads.get(key);
  if (head === undefined) {
    const leading: Record<string, unknown> = {};
    for (const member in ocsf) {
      if (member === 'metadata') break;
      leading[member] = ocsf[member];
    }
    const metadata = ocsf['metadata'] as Record<string, unknown>;
    leading['metadata'] = Object.fromEntries(HEAD_METADATA_KEYS.map((member) => [member, metadata[member]]));
    // Without the two closing braces, and with the comma that precedes `original_time`.
    head = Object.freeze({ text: `${JSON.stringify(leading).slice(0, -2)},` });
    if (heads.size >= MAX_HEADS) heads.clear();
    heads.set(key, head);
  }
  return head;
}
