import { inventoryRoute, pageOf } from './inventory-route.js';

/** GET /accounts/{account_id}/access/policies: reusable Access policies. */
export const accessPolicies = inventoryRoute({
  name: 'access-policies',
  path: '/access/policies',
  permission: 'Access: Apps and Policies Read',
  single: false,
  answer: (inventory, { query, data }) => pageOf(query, data.maxPageSize, inventory.policies),
});
