import { success } from '../envelope.js';
import { inventoryRoute } from './inventory-route.js';

/** GET /accounts/{account_id}/gateway: Zero Trust account information. */
export const gatewayAccount = inventoryRoute({
  name: 'gateway-account',
  path: '/gateway',
  permission: 'Zero Trust Read',
  single: true,
  answer: (inventory) => success(JSON.stringify(inventory.gatewayAccount)),
});
