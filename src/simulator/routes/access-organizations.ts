import { success } from '../envelope.js';
import { inventoryRoute } from './inventory-route.js';

/** GET /accounts/{account_id}/access/organizations: the Zero Trust organisation, a single object. */
export const accessOrganizations = inventoryRoute({
  name: 'access-organizations',
  path: '/access/organizations',
  permission: 'Access: Organizations, Identity Providers, and Groups Read',
  single: true,
  answer: (inventory) => success(JSON.stringify(inventory.organization)),
});
