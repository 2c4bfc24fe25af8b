import { inventoryRoute, oneOf, pageOf } from './inventory-route.js';

/** GET /accounts/{account_id}/access/identity_providers: one config shape per IdP type. */
export const accessIdentityProviders = inventoryRoute({
  name: 'access-identity-providers',
  path: '/access/identity_providers',
  permission: 'Access: Organizations, Identity Providers, and Groups Read',
  single: false,
  answer: (inventory, { query, data }) => {
    const scim = oneOf(query, 'scim_enabled', ['true', 'false'] as const);
    const providers = inventory.identityProviders.filter((idp) => {
      if (scim === undefined) return true;
      const config = idp['scim_config'] as { enabled?: boolean } | undefined;
      return (config?.enabled === true) === (scim === 'true');
    });
    return pageOf(query, data.maxPageSize, providers);
  },
});
