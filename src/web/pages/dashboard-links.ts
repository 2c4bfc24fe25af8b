import { queryValue } from '../query-edit.js';

// Where each dashboard element leads: Explore with the query and time range that select exactly the events the
// element counts. The dashboard counts authentications (OCSF class 3002), so every query starts with that.

/** The dashboard's own URL state: a period in API time expressions and an optional source. */
export interface DashboardView {
  readonly from: string;
  readonly to: string;
  readonly source: string | null;
}

export const DASHBOARD_DEFAULT_FROM = '-7d';
export const DASHBOARD_DEFAULT_TO = 'now';
// The longest values the API accepts; a longer one in a pasted link is cut rather than sent to be refused.
const MAX_TIME = 100;
const MAX_SOURCE = 200;

export function readDashboardView(search: string): DashboardView {
  const params = new URLSearchParams(search);
  const text = (name: string, max: number): string | null => {
    const value = params.get(name);
    return value === null || value.trim() === '' ? null : value.slice(0, max);
  };
  return {
    from: text('from', MAX_TIME) ?? DASHBOARD_DEFAULT_FROM,
    to: text('to', MAX_TIME) ?? DASHBOARD_DEFAULT_TO,
    source: text('source', MAX_SOURCE),
  };
}

export function dashboardPath(view: DashboardView): string {
  const params = new URLSearchParams();
  if (view.from !== DASHBOARD_DEFAULT_FROM) params.set('from', view.from);
  if (view.to !== DASHBOARD_DEFAULT_TO) params.set('to', view.to);
  if (view.source !== null) params.set('source', view.source);
  const text = params.toString();
  return text === '' ? '/dashboard' : `/dashboard?${text}`;
}

/** Query fields the dashboard filters on (the names of the query language). */
export type DrillField = 'user' | 'app' | 'country' | 'idp' | 'activity' | 'outcome';
export type DrillOutcome = 'success' | 'failure' | 'unknown';

/**
 * The Explore path for the dashboard's events narrowed by `filters`, over `range` (the dashboard's period
 * unless an element covers less of it, like one bar of the chart over time).
 */
export function explorePath(
  view: DashboardView,
  filters: readonly (readonly [DrillField, string])[],
  range: { readonly from: string; readonly to: string } = view,
): string {
  const clauses = ['class_uid:3002'];
  if (view.source !== null) clauses.push(`source:${queryValue(view.source)}`);
  for (const [field, value] of filters) clauses.push(`${field}:${queryValue(value)}`);
  const params = new URLSearchParams({ q: clauses.join(' AND '), from: range.from, to: range.to });
  return `/explore?${params.toString()}`;
}
