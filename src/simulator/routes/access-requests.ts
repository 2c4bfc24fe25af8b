import { queryAccessLogs } from '../access-log-query.js';
import type { EmailFilter } from '../access-log-query.js';
import { failure, INVALID_PARAMETER_CODE, success } from '../envelope.js';
import type { SimulatedResponse } from '../envelope.js';
import type { Route, RouteContext } from './route.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const POSITIVE_INTEGER = /^[1-9]\d{0,8}$/;
const EQ_NEQ_PARAMS = [
  'allowedOp',
  'country_codeOp',
  'app_typeOp',
  'app_uidOp',
  'ray_idOp',
  'idpOp',
  'non_identityOp',
  'user_idOp',
] as const;

class InvalidParameter extends Error {}

function invalid(message: string): never {
  throw new InvalidParameter(message);
}

function dateParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const ms = RFC3339.test(raw) ? Date.parse(raw.toUpperCase()) : NaN;
  if (Number.isNaN(ms)) invalid(`${name} must be an RFC 3339 date-time such as 2020-07-01T05:20:00Z`);
  // Sub-millisecond digits are dropped (floor), so an inclusive bound never skips an event of the same millisecond.
  return ms;
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!POSITIVE_INTEGER.test(raw)) invalid(`${name} must be a positive integer`);
  return Number(raw);
}

function enumParam<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const found = allowed.find((value) => value === raw);
  if (found === undefined) invalid(`${name} must be one of ${allowed.join(', ')}`);
  return found;
}

function emailFilter(query: URLSearchParams): EmailFilter | undefined {
  const value = query.get('email');
  const op = enumParam(query, 'emailOp', ['eq', 'neq', 'contains'] as const);
  const exact = enumParam(query, 'email_exact', ['true', 'false'] as const);
  if (value === null || value === '') return undefined;
  // Substring match unless emailOp=eq or email_exact=true (API reference, AccessRequestListParams).
  return { value, op: op ?? (exact === 'true' ? 'eq' : 'contains') };
}

function list(ctx: RouteContext): SimulatedResponse {
  const { query, data } = ctx;
  const limit = intParam(query, 'limit');
  const perPage = intParam(query, 'per_page');
  const page = intParam(query, 'page') ?? 1;
  const direction = enumParam(query, 'direction', ['asc', 'desc'] as const) ?? 'desc';
  const sinceMs = dateParam(query, 'since') ?? -8.64e15;
  const untilMs = dateParam(query, 'until') ?? 8.64e15;
  // The remaining operators only qualify filters the API no longer takes a value for; they are checked, then ignored.
  for (const name of EQ_NEQ_PARAMS) enumParam(query, name, ['eq', 'neq'] as const);
  const email = emailFilter(query);
  const fieldsRaw = query.get('fields');
  const size = Math.min(perPage ?? limit ?? 25, data.maxPageSize);
  if (ctx.accountId !== data.accountId) return success('[]');
  const fields =
    fieldsRaw === null
      ? undefined
      : fieldsRaw
          .split(',')
          .map((f) => f.trim())
          .filter((f) => f !== '');
  const result = queryAccessLogs(data.seed, data.timeline, data.renderer, data.mode, data.visibility, {
    sinceMs,
    untilMs,
    direction,
    offset: (page - 1) * size,
    size,
    ...(email === undefined ? {} : { email }),
    ...(fields === undefined ? {} : { fields }),
  });
  // No result_info: neither the 2024 spec nor the current API reference documents one for this endpoint.
  return success(result);
}

/** GET /accounts/{account_id}/access/logs/access_requests: Access authentication logs. */
export const accessRequests: Route = {
  name: 'access-requests',
  pattern: /^\/accounts\/([^/]+)\/access\/logs\/access_requests$/,
  accountScoped: true,
  permission: 'Access: Audit Logs Read',
  handle(ctx) {
    try {
      return list(ctx);
    } catch (error) {
      if (error instanceof InvalidParameter)
        return failure(400, { code: INVALID_PARAMETER_CODE, message: error.message });
      throw error;
    }
  },
};
