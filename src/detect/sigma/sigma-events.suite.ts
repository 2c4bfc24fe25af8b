import type { NormalizedEvent } from '../../core/event.js';
import { isRejected } from '../../core/event.js';
import type { InventoryEntity } from '../../core/inventory.js';
import { normalizeAccessRequest } from '../../normalize/cloudflare/access-requests.js';
import { normalizeAuditLog } from '../../normalize/cloudflare/audit-logs.js';
import { normalizeScimUpdate } from '../../normalize/cloudflare/scim-updates.js';
import { diffInventory } from '../../normalize/inventory-changes.js';
import type { Normalizer } from '../../normalize/schema.js';

// Events for the Sigma tests, made by the real normalizers from Cloudflare-shaped records.

const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';

function normalized(normalizer: Normalizer, dataset: string, raw: unknown): NormalizedEvent {
  const result = normalizer(raw, { sourceName: 'cf-main', accountId: ACCOUNT_ID, dataset });
  if (isRejected(result)) throw new Error(`the normalizer rejected a test record: ${result.reason}`);
  return result;
}

export const ACCESS_RECORD = {
  action: 'login',
  allowed: false,
  app_domain: 'wiki.example.com',
  app_uid: '6f0a5b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
  connection: 'okta',
  created_at: '2026-11-20T09:15:02Z',
  ip_address: '203.0.113.7',
  ray_id: '8e1f2a3b4c5d6e7f',
  user_email: 'Alice@Example.com',
  country: 'DE',
};

/** An Access login; denied by alice@example.com from 203.0.113.7 (DE) unless `fields` say otherwise. */
export function accessEvent(fields: Readonly<Record<string, unknown>> = {}): NormalizedEvent {
  return normalized(normalizeAccessRequest, 'access_requests', { ...ACCESS_RECORD, ...fields });
}

export const SCIM_RECORD = {
  cf_resource_id: '9d1b6a52-6f3e-4c1a-9d2e-3b4c5d6e7f80',
  error_description: '',
  idp_id: '3f1c2b4a-5d6e-4f70-8a91-b2c3d4e5f601',
  idp_resource_id: '00u1abcd2EFGH3ijk4l5',
  logged_at: '2026-11-20T09:15:02Z',
  request_body: JSON.stringify({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'active', value: false }],
  }),
  request_method: 'PATCH',
  resource_group_name: '',
  resource_type: 'USER',
  resource_user_email: 'Bob@Example.com',
  status: 'SUCCESS',
};

/** A SCIM request; a PATCH deactivating bob@example.com unless `fields` say otherwise. */
export function scimEvent(fields: Readonly<Record<string, unknown>> = {}): NormalizedEvent {
  return normalized(normalizeScimUpdate, 'scim_updates', { ...SCIM_RECORD, ...fields });
}

export const AUDIT_V2_RECORD = {
  id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  account: { id: ACCOUNT_ID, name: 'Example Corp' },
  action: { description: 'Create API token', result: 'success', time: '2026-11-20T09:15:02Z', type: 'create' },
  actor: {
    id: 'f6b5de0326bb5182b8a4840ee01ec774',
    email: 'Michelle@Example.com',
    ip_address: '192.0.2.166',
    type: 'user',
  },
  raw: { cf_ray_id: '8e1f2a3b4c5d6e7f', method: 'POST', status_code: 200, uri: '/user/tokens' },
  resource: { id: '5b6c7d8e-9f00-4112-8233-445566778899', product: 'api_tokens', type: 'api_token' },
};

/** An audit log v2 entry; an API token created by michelle@example.com unless `fields` say otherwise. */
export function auditEvent(fields: Readonly<Record<string, unknown>> = {}): NormalizedEvent {
  return normalized(normalizeAuditLog, 'audit_logs', { ...AUDIT_V2_RECORD, ...fields });
}

/** An audit log v1 entry with the given action type. */
export function auditV1Event(type: string, fields: Readonly<Record<string, unknown>> = {}): NormalizedEvent {
  return normalized(normalizeAuditLog, 'audit_logs', {
    action: { result: true, type },
    actor: { email: 'michelle@example.com', id: 'f6b5de0326bb5182b8a4840ee01ec774', ip: '192.0.2.166', type: 'user' },
    id: 'd5b0f326-1232-4452-8858-1089bd7168ef',
    interface: 'API',
    owner: { id: ACCOUNT_ID },
    resource: { id: '023e105f4ecef8ad9ca31a8372d0c353', type: 'account' },
    when: '2026-11-20T09:15:02Z',
    ...fields,
  });
}

/** The change events between two snapshots of one inventory dataset. */
export function inventoryEvents(
  dataset: string,
  before: readonly InventoryEntity[],
  after: readonly InventoryEntity[],
): NormalizedEvent[] {
  return diffInventory(before, after, {
    sourceName: 'cf-main',
    accountId: ACCOUNT_ID,
    dataset,
    takenAt: Date.UTC(2026, 10, 20, 9, 30),
    previousTakenAt: Date.UTC(2026, 10, 20, 9, 15),
  });
}

/** One event of a given kind with another time, for windowed tests. */
export function at(event: NormalizedEvent, time: number, id = `${event.id}-${time}`): NormalizedEvent {
  return { ...event, time, id };
}
