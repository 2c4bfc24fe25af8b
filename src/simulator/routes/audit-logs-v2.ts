import type { AuditEntry } from '../audit-log.js';
import { renderAuditV2 } from '../audit-render.js';
import type { SimulatedResponse } from '../envelope.js';
import { PERMISSIONS } from '../permissions.js';
import { answerParameterErrors, listBody, oneOf, ParameterError, positiveInteger } from './inventory-route.js';
import { dateOrDateTime, repeated } from './params.js';
import type { Route, RouteContext } from './route.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** The product categories `product_category` accepts: the products of the simulated entries. */
export const PRODUCT_CATEGORIES = ['access', 'dashboard', 'devices', 'gateway'] as const;

type Json = Record<string, unknown>;
const field =
  (...path: string[]) =>
  (entry: Json): unknown =>
    path.reduce<unknown>((value, key) => (value as Json | undefined)?.[key], entry);
// Each `<field>.not` exclusion filter of the additions file, with the rendered field it reads and its allowed values.
interface Exclusion {
  readonly name: string;
  readonly read: (entry: Json) => unknown;
  readonly allowed?: readonly string[];
}
const exclusion = (name: string, read: (entry: Json) => unknown, allowed?: readonly string[]): Exclusion => ({
  name,
  read,
  ...(allowed === undefined ? {} : { allowed }),
});
const EXCLUSIONS: readonly Exclusion[] = [
  exclusion('id.not', field('id')),
  exclusion('account_name.not', field('account', 'name')),
  exclusion('action_result.not', field('action', 'result'), ['success', 'failure']),
  exclusion('action_type.not', field('action', 'type'), ['create', 'delete', 'view', 'update']),
  exclusion('actor_context.not', field('actor', 'context'), [
    'api',
    'api_key',
    'api_token',
    'dash',
    'oauth',
    'origin_ca_key',
  ]),
  exclusion('actor_email.not', field('actor', 'email')),
  exclusion('actor_id.not', field('actor', 'id')),
  exclusion('actor_ip_address.not', field('actor', 'ip_address')),
  exclusion('actor_token_id.not', field('actor', 'token_id')),
  exclusion('actor_token_name.not', field('actor', 'token_name')),
  exclusion('actor_type.not', field('actor', 'type'), [
    'account',
    'cloudflare_admin',
    'delegated_service',
    'system',
    'user',
  ]),
  exclusion('raw_cf_ray_id.not', field('raw', 'cf_ray_id')),
  exclusion('raw_method.not', field('raw', 'method')),
  exclusion('raw_status_code.not', field('raw', 'status_code')),
  exclusion('raw_uri.not', field('raw', 'uri')),
  exclusion('resource_id.not', field('resource', 'id')),
  exclusion('resource_product.not', field('resource', 'product')),
  exclusion('resource_scope.not', field('resource', 'scope'), ['accounts', 'user', 'zones', 'memberships']),
  exclusion('resource_type.not', field('resource', 'type')),
  exclusion('zone_id.not', field('zone', 'id')),
  exclusion('zone_name.not', field('zone', 'name')),
];

// The cursor is opaque to clients; here it names the last entry served, so entries arriving later never shift pages.
function decodeCursor(raw: string | null): { timeMs: number; serial: number } | undefined {
  if (raw === null || raw === '') return undefined;
  const match = /^a(-?\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(raw, 'base64url').toString('utf8'));
  if (match?.[1] === undefined || match[2] === undefined)
    throw new ParameterError('cursor is not a cursor this endpoint issued');
  return { timeMs: Number(match[1]), serial: Number(match[2]) };
}

function encodeCursor(entry: AuditEntry): string {
  return Buffer.from(`a${entry.timeMs}.${entry.serial}`, 'utf8').toString('base64url');
}

function list({ query, accountId, data }: RouteContext): SimulatedResponse {
  const sinceMs = dateOrDateTime(query, 'since');
  const beforeMs = dateOrDateTime(query, 'before');
  if (sinceMs === undefined || beforeMs === undefined)
    throw new ParameterError('since and before are required: a date (YYYY-MM-DD) or an RFC 3339 date-time');
  const limit = positiveInteger(query, 'limit') ?? DEFAULT_LIMIT;
  if (limit > MAX_LIMIT) throw new ParameterError(`limit must be between 1 and ${MAX_LIMIT}`);
  const direction = oneOf(query, 'direction', ['asc', 'desc'] as const) ?? 'desc';
  const after = decodeCursor(query.get('cursor'));
  const categories = repeated(query, 'product_category', PRODUCT_CATEGORIES);
  const exclusions = EXCLUSIONS.map(
    ({ name, read, allowed }) => [read, repeated(query, name, allowed)] as const,
  ).filter(([, values]) => values.length > 0);
  const size = Math.min(limit, data.maxPageSize);
  const account = { id: data.accountId, name: data.accountName };
  // since is inclusive and before exclusive, as on the version 1 endpoint.
  const endExclusive = Math.min(beforeMs, data.nowMs + 1);
  const entries =
    accountId !== data.accountId || endExclusive <= sinceMs ? [] : data.auditLog.between(sinceMs, endExclusive);
  const sign = direction === 'asc' ? 1 : -1;
  if (direction === 'desc') entries.reverse();
  const page: Json[] = [];
  let last: AuditEntry | undefined;
  let more = false;
  for (const entry of entries) {
    if (after !== undefined && sign * (entry.timeMs - after.timeMs || entry.serial - after.serial) <= 0) continue;
    if (categories.length > 0 && !categories.includes(entry.resource.product)) continue;
    const rendered = renderAuditV2(entry, account);
    if (exclusions.some(([read, values]) => values.includes(String(read(rendered))))) continue;
    if (page.length === size) {
      more = true;
      break;
    }
    page.push(rendered);
    last = entry;
  }
  // The additions file (after the API reference) gives count as a string; the last page carries an empty cursor.
  return listBody(page, { count: String(page.length), cursor: more && last !== undefined ? encodeCursor(last) : '' });
}

/** GET /accounts/{account_id}/logs/audit: account audit logs, version 2, cursor-based. */
export const auditLogsV2: Route = {
  name: 'audit-logs-v2',
  pattern: /^\/accounts\/([^/]+)\/logs\/audit$/,
  accountScoped: true,
  permission: PERMISSIONS.accountSettings,
  handle: (ctx) => answerParameterErrors(() => list(ctx)),
};
