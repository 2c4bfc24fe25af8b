import { inventoryRoute, pageOf } from './inventory-route.js';

/** GET /accounts/{account_id}/access/groups. */
export const accessGroups = inventoryRoute({
  name: 'access-groups',
  path: '/access/groups',
  permission: 'Access: Organizations, Identity Providers, and Groups Read',
  single: false,
  answer: (inventory, { query, data }) => {
    const name = query.get('name');
    const search = query.get('search')?.toLowerCase();
    const groups = inventory.groups.filter((group) => {
      const groupName = String(group['name']);
      if (name !== null && name !== '' && groupName !== name) return false;
      return search === undefined || groupName.toLowerCase().includes(search);
    });
    return pageOf(query, data.maxPageSize, groups);
  },
});
