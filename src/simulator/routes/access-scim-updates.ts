import { PERMISSIONS } from '../permissions.js';
import type { SimulatedResponse } from '../envelope.js';
import { answerParameterErrors, oneOf, pagedList, ParameterError, positiveInteger } from './inventory-route.js';
import { dateTime, repeated } from './params.js';
import type { Route, RouteContext } from './route.js';

const MAX_PER_PAGE = 1000;
const DEFAULT_PER_PAGE = 25;
// Filters on a record field, each a repeatable parameter matched exactly (additions file, SCIM update logs).
const FIELD_FILTERS = [
  ['cf_resource_id', undefined],
  ['idp_resource_id', undefined],
  ['resource_group_name', undefined],
  ['resource_user_email', undefined],
  ['request_method', ['DELETE', 'PATCH', 'POST', 'PUT']],
  ['resource_type', ['USER', 'GROUP']],
  ['status', ['FAILURE', 'SUCCESS']],
] as const;

function list({ query, accountId, data }: RouteContext): SimulatedResponse {
  const idpIds = repeated(query, 'idp_id');
  if (idpIds.length === 0)
    throw new ParameterError('idp_id is required: give the id of an identity provider with SCIM enabled');
  const filters = FIELD_FILTERS.map(([field, allowed]) => [field, repeated(query, field, allowed)] as const).filter(
    ([, values]) => values.length > 0,
  );
  // Like access_requests, since and until are both inclusive.
  const sinceMs = dateTime(query, 'since') ?? -8.64e15;
  const untilMs = dateTime(query, 'until') ?? 8.64e15;
  const direction = oneOf(query, 'direction', ['asc', 'desc'] as const) ?? 'desc';
  const limit = positiveInteger(query, 'limit');
  const perPage = positiveInteger(query, 'per_page');
  if (perPage !== undefined && perPage > MAX_PER_PAGE)
    throw new ParameterError(`per_page must be at most ${MAX_PER_PAGE}`);
  const page = positiveInteger(query, 'page') ?? 1;
  const size = Math.min(perPage ?? limit ?? DEFAULT_PER_PAGE, data.maxPageSize);
  const endExclusive = Math.min(untilMs, data.nowMs) + 1;
  if (accountId !== data.accountId || endExclusive <= sinceMs) return pagedList([], page, size);
  const records = data.scimLog
    .between(sinceMs, endExclusive)
    .map((record) => record.json)
    .filter(
      (json) =>
        idpIds.includes(String(json['idp_id'])) &&
        filters.every(([field, values]) => values.includes(String(json[field]))),
    );
  if (direction === 'desc') records.reverse();
  return pagedList(records, page, size);
}

/** GET /accounts/{account_id}/access/logs/scim/updates: SCIM provisioning requests from SCIM-enabled IdPs. */
export const accessScimUpdates: Route = {
  name: 'access-scim-updates',
  pattern: /^\/accounts\/([^/]+)\/access\/logs\/scim\/updates$/,
  accountScoped: true,
  permission: PERMISSIONS.accessScimLogs,
  handle: (ctx) => answerParameterErrors(() => list(ctx)),
};
