import { success } from '../envelope.js';
import { inventoryRoute } from './inventory-route.js';

/** GET /accounts/{account_id}/gateway/configuration: Gateway account settings. */
export const gatewayConfiguration = inventoryRoute({
  name: 'gateway-configuration',
  path: '/gateway/configuration',
  permission: 'Zero Trust Read',
  single: true,
  answer: (inventory) => success(JSON.stringify(inventory.gatewayConfiguration)),
});
