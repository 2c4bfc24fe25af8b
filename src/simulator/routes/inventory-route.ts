import { failure, INVALID_PARAMETER_CODE, NO_ROUTE, success } from '../envelope.js';
import type { SimulatedResponse } from '../envelope.js';
import type { Inventory } from '../inventory.js';
import type { Route, RouteContext } from './route.js';

const POSITIVE_INTEGER = /^[1-9]\d{0,8}$/;
// The API reference gives `per_page` a maximum of 1000 on every page-based Zero Trust list.
const MAX_PER_PAGE = 1000;
const DEFAULT_PER_PAGE = 25;

/** A query parameter the endpoint rejects; routes built here turn it into 400 with code 1001. */
export class ParameterError extends Error {}

/** A positive integer query parameter, or undefined when absent. */
export function positiveInteger(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!POSITIVE_INTEGER.test(raw)) throw new ParameterError(`${name} must be a positive integer`);
  return Number(raw);
}

/** One of `allowed`, or undefined when absent. */
export function oneOf<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const found = allowed.find((value) => value === raw);
  if (found === undefined) throw new ParameterError(`${name} must be one of ${allowed.join(', ')}`);
  return found;
}

/** Answers a ParameterError with the 400 envelope the access log route uses. */
export function answerParameterErrors(handle: () => SimulatedResponse): SimulatedResponse {
  try {
    return handle();
  } catch (error) {
    if (error instanceof ParameterError) return failure(400, { code: INVALID_PARAMETER_CODE, message: error.message });
    throw error;
  }
}

/** A success envelope with `result` and `result_info`. */
export function listBody(items: readonly unknown[], info: Record<string, number | string>): SimulatedResponse {
  const { body } = success(JSON.stringify(items));
  return { status: 200, body: `${body.slice(0, -1)},"result_info":${JSON.stringify(info)}}` };
}

/**
 * Page `page` of `items` with `result_info {page, per_page, count, total_count, total_pages}`; only the page's
 * items go through `render`.
 */
export function pagedList<T>(
  items: readonly T[],
  page: number,
  perPage: number,
  render: (item: T) => unknown = (item) => item,
): SimulatedResponse {
  const slice = items.slice((page - 1) * perPage, page * perPage).map(render);
  return listBody(slice, {
    page,
    per_page: perPage,
    count: slice.length,
    total_count: items.length,
    total_pages: Math.ceil(items.length / perPage),
  });
}

/** One page of `items` chosen by `page` and `per_page` (default 25, at most 1000, capped by `maxPageSize`). */
export function pageOf(query: URLSearchParams, maxPageSize: number, items: readonly unknown[]): SimulatedResponse {
  const page = positiveInteger(query, 'page') ?? 1;
  const requested = positiveInteger(query, 'per_page') ?? DEFAULT_PER_PAGE;
  if (requested > MAX_PER_PAGE) throw new ParameterError(`per_page must be at most ${MAX_PER_PAGE}`);
  return pagedList(items, page, Math.min(requested, maxPageSize));
}

/** Every item in one page, for lists the API does not page (gateway rules, the deprecated device list). */
export function singlePage(items: readonly unknown[]): SimulatedResponse {
  return listBody(items, {
    page: 1,
    per_page: items.length,
    count: items.length,
    total_count: items.length,
    total_pages: 1,
  });
}

/** Cursor-paged body: `result_info {count, cursor, per_page, total_count}`; the last page carries an empty cursor. */
export function cursorPage(
  items: readonly unknown[],
  info: { cursor: string; perPage: number; total: number },
): SimulatedResponse {
  return listBody(items, { count: items.length, cursor: info.cursor, per_page: info.perPage, total_count: info.total });
}

// Another account the token may read holds nothing in the simulator: its lists are empty.
const EMPTY_INVENTORY: Inventory = {
  users: [],
  organization: {},
  identityProviders: [],
  groups: [],
  policies: [],
  apps: [],
  gatewayAccount: {},
  gatewayConfiguration: {},
  gatewayRules: [],
  devices: [],
};

interface InventoryRouteSpec {
  readonly name: string;
  /** Path after `/accounts/{account_id}`. */
  readonly path: string;
  readonly permission: string;
  /** Single-object endpoints answer 404 for an account the simulator does not hold instead of an empty list. */
  readonly single: boolean;
  readonly answer: (inventory: Inventory, ctx: RouteContext) => SimulatedResponse;
}

/** A GET route under `/accounts/{account_id}` that answers from the account's Zero Trust inventory. */
export function inventoryRoute(spec: InventoryRouteSpec): Route {
  const escaped = spec.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    name: spec.name,
    pattern: new RegExp(`^/accounts/([^/]+)${escaped}$`),
    accountScoped: true,
    permission: spec.permission,
    handle: (ctx) =>
      answerParameterErrors(() => {
        if (ctx.accountId === ctx.data.accountId) return spec.answer(ctx.data.inventory, ctx);
        return spec.single ? failure(404, NO_ROUTE) : spec.answer(EMPTY_INVENTORY, ctx);
      }),
  };
}
