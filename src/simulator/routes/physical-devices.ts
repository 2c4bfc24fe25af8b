import type { SimulatedDevice } from '../inventory.js';
import { cursorPage, inventoryRoute, oneOf, ParameterError, positiveInteger } from './inventory-route.js';

const DEFAULT_PER_PAGE = 25;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const SORT_FIELDS = [
  'name',
  'id',
  'client_version',
  'last_seen_user.email',
  'last_seen_at',
  'active_registrations',
  'created_at',
] as const;
// Every simulated device registers through the device client under the default device profile.
const DEFAULT_PROFILE = {
  id: '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a09',
  default: true,
  deleted: false,
  name: 'Default',
  updated_at: '2025-06-01T00:00:00Z',
};

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function time(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const ms = RFC3339.test(raw) ? Date.parse(raw.toUpperCase()) : NaN;
  if (Number.isNaN(ms)) throw new ParameterError(`${name} must be an RFC 3339 date-time`);
  return ms;
}

// The cursor is opaque to clients (additions file: "Opaque token from result_info.cursor"); here it is an offset.
function decodeCursor(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  const match = /^o(\d{1,9})$/.exec(Buffer.from(raw, 'base64url').toString('utf8'));
  if (match?.[1] === undefined) throw new ParameterError('cursor is not a cursor this endpoint issued');
  return Number(match[1]);
}

function encodeCursor(offset: number): string {
  return Buffer.from(`o${offset}`, 'utf8').toString('base64url');
}

/** GET /accounts/{account_id}/devices/physical-devices (additions file `list-devices`): cursor-paged devices. */
export const physicalDevices = inventoryRoute({
  name: 'physical-devices',
  path: '/devices/physical-devices',
  permission: 'Zero Trust Read',
  single: false,
  answer: (inventory, { query, data }) => {
    const perPage = Math.min(positiveInteger(query, 'per_page') ?? DEFAULT_PER_PAGE, data.maxPageSize);
    const offset = decodeCursor(query.get('cursor'));
    const registrations = oneOf(query, 'active_registrations', ['include', 'only', 'exclude'] as const) ?? 'only';
    const registrationType = oneOf(query, 'has_registration_type', ['warp', 'browser_extension'] as const);
    const sortBy = oneOf(query, 'sort_by', SORT_FIELDS) ?? 'name';
    const descending = oneOf(query, 'sort_order', ['asc', 'desc'] as const) === 'desc';
    const ids = query.getAll('id');
    const email = query.get('last_seen_user.email')?.toLowerCase();
    const profile = query.get('last_seen_registration.policy');
    const search = query.get('search')?.toLowerCase();
    const after = time(query, 'seen_after');
    const before = time(query, 'seen_before');
    const withPolicy = (query.get('include') ?? '')
      .split(',')
      .some((s) => s.trim() === 'last_seen_registration.policy');
    const users = new Map(inventory.users.map((user) => [user['id'], user]));
    const userOf = (d: SimulatedDevice): Record<string, unknown> => users.get(d.userId) ?? {};

    const keyOf = (d: SimulatedDevice): string | number => {
      switch (sortBy) {
        case 'id':
          return d.id;
        case 'client_version':
          return d.clientVersion;
        case 'last_seen_user.email':
          return String(userOf(d)['email']);
        case 'last_seen_at':
          return d.lastSeenMs;
        case 'active_registrations':
          return d.activeRegistrations;
        case 'created_at':
          return d.createdMs;
        default:
          return d.name;
      }
    };
    const selected = inventory.devices
      .filter((d) => {
        if (registrations === 'only' && d.activeRegistrations === 0) return false;
        if (registrations === 'exclude' && d.activeRegistrations > 0) return false;
        if (registrationType === 'browser_extension') return false;
        if (ids.length > 0 && !ids.includes(d.id)) return false;
        if (profile !== null && profile !== DEFAULT_PROFILE.id) return false;
        const userEmail = String(userOf(d)['email']).toLowerCase();
        if (email !== undefined && email !== '' && userEmail !== email) return false;
        if (search !== undefined && !`${d.name} ${d.serialNumber} ${userEmail}`.toLowerCase().includes(search))
          return false;
        if (after !== undefined && d.lastSeenMs < after) return false;
        return before === undefined || d.lastSeenMs < before;
      })
      .sort((a, b) => {
        const ka = keyOf(a);
        const kb = keyOf(b);
        // Ties fall back to the id so that offsets in the cursor always address the same order.
        const order = ka < kb ? -1 : ka > kb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
        return descending ? -order : order;
      });
    const page = selected.slice(offset, offset + perPage).map((d) => {
      const user = userOf(d);
      return {
        id: d.id,
        name: d.name,
        active_registrations: d.activeRegistrations,
        created_at: iso(d.createdMs),
        last_seen_at: iso(d.lastSeenMs),
        updated_at: iso(d.updatedMs),
        client_version: d.clientVersion,
        device_type: d.deviceType,
        hardware_id: d.serialNumber,
        last_seen_user: { id: user['id'], email: user['email'], name: user['name'] },
        mac_address: d.macAddress,
        manufacturer: d.manufacturer,
        model: d.model,
        os_version: d.osVersion,
        public_ip: d.publicIp,
        serial_number: d.serialNumber,
        ...(withPolicy ? { last_seen_registration: { policy: DEFAULT_PROFILE } } : {}),
      };
    });
    const next = offset + perPage < selected.length ? encodeCursor(offset + perPage) : '';
    return cursorPage(page, { cursor: next, perPage, total: selected.length });
  },
});
