import { inventoryRoute, singlePage } from './inventory-route.js';

/** GET /accounts/{account_id}/gateway/rules: every Gateway rule in one page, by precedence. */
export const gatewayRules = inventoryRoute({
  name: 'gateway-rules',
  path: '/gateway/rules',
  permission: 'Zero Trust Read',
  single: false,
  // Neither spec-2024 nor the API reference gives this list page parameters.
  answer: (inventory) => singlePage(inventory.gatewayRules),
});
