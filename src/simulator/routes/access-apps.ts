import { inventoryRoute, oneOf, pageOf } from './inventory-route.js';

// `exact=true` makes `name` and `domain` whole-string matches; otherwise they match substrings (API reference).
function textMatch(value: unknown, wanted: string | null, exact: boolean): boolean {
  if (wanted === null || wanted === '') return true;
  const text = String(value).toLowerCase();
  return exact ? text === wanted.toLowerCase() : text.includes(wanted.toLowerCase());
}

/** GET /accounts/{account_id}/access/apps: the organisation's Access applications, same ids as `app_uid` in the logs. */
export const accessApps = inventoryRoute({
  name: 'access-apps',
  path: '/access/apps',
  // API-NOTES.md §4: not among the three default read permissions.
  permission: 'Access: Apps and Policies Read',
  single: false,
  answer: (inventory, { query, data }) => {
    const exact = oneOf(query, 'exact', ['true', 'false'] as const) === 'true';
    const aud = query.get('aud');
    const search = query.get('search');
    const apps = inventory.apps.filter(
      (app) =>
        (aud === null || aud === '' || app['aud'] === aud) &&
        textMatch(app['name'], query.get('name'), exact) &&
        textMatch(app['domain'], query.get('domain'), exact) &&
        (textMatch(app['name'], search, false) || textMatch(app['domain'], search, false)),
    );
    return pageOf(query, data.maxPageSize, apps);
  },
});
