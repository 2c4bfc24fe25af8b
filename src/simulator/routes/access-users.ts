import { inventoryRoute, pageOf } from './inventory-route.js';

// The API reference filters users by `email`, `name` and a free-text `search` across them.
function matches(user: Record<string, unknown>, query: URLSearchParams): boolean {
  const email = String(user['email']).toLowerCase();
  const name = String(user['name']).toLowerCase();
  const wantEmail = query.get('email');
  const wantName = query.get('name');
  const search = query.get('search');
  if (wantEmail !== null && wantEmail !== '' && email !== wantEmail.toLowerCase()) return false;
  if (wantName !== null && wantName !== '' && name !== wantName.toLowerCase()) return false;
  if (search !== null && search !== '' && !email.includes(search.toLowerCase()) && !name.includes(search.toLowerCase()))
    return false;
  return true;
}

/** GET /accounts/{account_id}/access/users (spec-2024 `zero-trust-users-get-users`). */
export const accessUsers = inventoryRoute({
  name: 'access-users',
  path: '/access/users',
  // API-NOTES.md §4: users sit under the audit log permission, not the organisation one.
  permission: 'Access: Audit Logs Read',
  single: false,
  answer: (inventory, { query, data }) =>
    pageOf(
      query,
      data.maxPageSize,
      inventory.users.filter((user) => matches(user, query)),
    ),
});
