import { BlockList, isIP } from 'node:net';
import type { AuditEntry } from '../audit-log.js';
import { renderAuditV1 } from '../audit-render.js';
import type { SimulatedResponse } from '../envelope.js';
import { PERMISSIONS } from '../permissions.js';
import { answerParameterErrors, oneOf, pagedList, ParameterError, positiveInteger } from './inventory-route.js';
import { booleanParam, dateOrDateTime } from './params.js';
import type { Route, RouteContext } from './route.js';

// spec-2024: per_page defaults to 100 and lies in 1–1000; page starts at 1.
const DEFAULT_PER_PAGE = 100;
const MAX_PER_PAGE = 1000;

/** `actor.ip` takes an address or a CIDR range (spec-2024). */
function ipMatcher(raw: string | null): ((ip: string | undefined) => boolean) | undefined {
  if (raw === null || raw === '') return undefined;
  const [address = '', prefix] = raw.split('/');
  const family = isIP(address);
  const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
  if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32))
    throw new ParameterError('actor.ip must be an IP address or a CIDR range');
  const range = new BlockList();
  range.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4');
  return (ip) => ip !== undefined && isIP(ip) !== 0 && range.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

function list({ query, accountId, data }: RouteContext): SimulatedResponse {
  const id = query.get('id');
  // `export=true` asks for CSV; the simulator answers JSON either way.
  booleanParam(query, 'export');
  const actionType = query.get('action.type');
  const actorIp = ipMatcher(query.get('actor.ip'));
  const actorEmail = query.get('actor.email')?.toLowerCase();
  const zoneName = query.get('zone.name');
  // "Newer than" since and "older than" before, as spec-2024 describes them: both exclusive.
  const sinceMs = dateOrDateTime(query, 'since') ?? -8.64e15;
  const beforeMs = dateOrDateTime(query, 'before') ?? 8.64e15;
  const direction = oneOf(query, 'direction', ['asc', 'desc'] as const) ?? 'desc';
  const hideUserLogs = booleanParam(query, 'hide_user_logs') ?? false;
  const page = positiveInteger(query, 'page') ?? 1;
  const perPage = positiveInteger(query, 'per_page') ?? DEFAULT_PER_PAGE;
  if (perPage > MAX_PER_PAGE) throw new ParameterError(`per_page must be between 1 and ${MAX_PER_PAGE}`);
  const size = Math.min(perPage, data.maxPageSize);
  const endExclusive = Math.min(beforeMs, data.nowMs + 1);
  if (accountId !== data.accountId || endExclusive <= sinceMs + 1) return pagedList([], page, size);
  const keep = (entry: AuditEntry): boolean =>
    (id === null || id === '' || entry.id === id) &&
    (actionType === null || actionType === '' || entry.action === actionType) &&
    (actorIp === undefined || actorIp(entry.actor.ip)) &&
    (actorEmail === undefined || actorEmail === '' || entry.actor.email?.toLowerCase() === actorEmail) &&
    // No simulated entry concerns a zone.
    (zoneName === null || zoneName === '') &&
    !(hideUserLogs && entry.resource.scope === 'user');
  const entries = data.auditLog.between(sinceMs + 1, endExclusive).filter(keep);
  if (direction === 'desc') entries.reverse();
  return pagedList(entries, page, size, (entry) => renderAuditV1(entry, data.accountId));
}

/** GET /accounts/{account_id}/audit_logs: account audit logs, version 1 (spec-2024), page-based. */
export const auditLogs: Route = {
  name: 'audit-logs',
  pattern: /^\/accounts\/([^/]+)\/audit_logs$/,
  accountScoped: true,
  permission: PERMISSIONS.accountSettings,
  handle: (ctx) => answerParameterErrors(() => list(ctx)),
};
