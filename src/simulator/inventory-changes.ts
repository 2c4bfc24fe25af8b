import { isoSeconds as iso, hex, uuid } from './ids.js';
import type { Inventory, SimulatedDevice } from './inventory.js';
import { accessUserId, activeDeviceCounts, DISABLED_RULE } from './inventory.js';
import { hash32 } from './prng.js';

type Json = Record<string, unknown>;

export const INVENTORY_CHANGE_KINDS = [
  'gateway_rule_disabled',
  'group_include_widened',
  'organization_session_lengthened',
  'policy_changed',
  'user_added',
  'device_revoked',
  'identity_provider_added',
  'app_changed',
] as const;
export type InventoryChangeKind = (typeof INVENTORY_CHANGE_KINDS)[number];

/** Who made a change: one of the account's administrators, their Terraform token, or SCIM provisioning. */
export type ChangeActor = 'owner' | 'security' | 'it' | 'terraform' | 'scim';

/** One scheduled configuration change of the simulated account, with what its audit log entry reports. */
export interface InventoryChange {
  readonly kind: InventoryChangeKind;
  readonly atMs: number;
  readonly description: string;
  readonly action: 'create' | 'update';
  readonly actor: ChangeActor;
  readonly resource: { readonly id: string; readonly type: string; readonly product: string; readonly name: string };
  readonly method: 'POST' | 'PUT';
  /** Request path under `/client/v4`. */
  readonly uri: string;
  readonly oldValue: Json | undefined;
  readonly newValue: Json;
  /** For changes before the start: turns the current inventory back into the state before the change. */
  readonly undo?: (inventory: Inventory) => Inventory;
  readonly apply: (inventory: Inventory) => Inventory;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * When each change happens, relative to the simulator's start (its clock at `startSimulator`, whole seconds). The
 * first four lie in the past, so a backfill finds them and the inventory at the start already carries them; the
 * rest follow within the first minutes, so a running demo sees them happen.
 */
export const INVENTORY_CHANGE_OFFSETS_MS: Readonly<Record<InventoryChangeKind, number>> = {
  gateway_rule_disabled: -(14 * DAY_MS + 3 * HOUR_MS + 20 * MINUTE_MS),
  group_include_widened: -(9 * DAY_MS + HOUR_MS + 5 * MINUTE_MS),
  organization_session_lengthened: -(4 * DAY_MS + 21 * HOUR_MS + 50 * MINUTE_MS),
  policy_changed: -(2 * DAY_MS + 4 * HOUR_MS),
  user_added: MINUTE_MS,
  device_revoked: 3 * MINUTE_MS,
  identity_provider_added: 5 * MINUTE_MS,
  app_changed: 8 * MINUTE_MS,
};

/** The Access user SCIM provisions at the `user_added` change. */
export const NEW_USER = { email: 'robin.achebe@example.com', name: 'Robin Achebe', givenName: 'Robin' } as const;

function patch(list: readonly Json[], id: unknown, fields: Json): Json[] {
  return list.map((item) => (item['id'] === id ? { ...item, ...fields } : item));
}

function byName(list: readonly Json[], name: string): Json {
  const found = list.find((item) => item['name'] === name);
  if (found === undefined) throw new Error(`inventory has no ${name}`);
  return found;
}

// Apps embed copies of the reusable policies they attach; a policy change shows in those copies too.
function patchPolicy(inventory: Inventory, id: unknown, fields: Json): Inventory {
  return {
    ...inventory,
    policies: patch(inventory.policies, id, fields),
    apps: inventory.apps.map((app) => {
      const embedded = app['policies'];
      if (!Array.isArray(embedded) || !embedded.some((p: Json) => p['id'] === id)) return app;
      return { ...app, policies: patch(embedded as Json[], id, fields) };
    }),
  };
}

function withDevices(inventory: Inventory, devices: readonly SimulatedDevice[]): Inventory {
  const active = activeDeviceCounts(devices);
  return {
    ...inventory,
    devices,
    users: inventory.users.map((user) => {
      const count = active.get(String(user['id'])) ?? 0;
      return user['active_device_count'] === count
        ? user
        : { ...user, active_device_count: count, gateway_seat: count > 0 };
    }),
  };
}

/** The scheduled changes for an account whose inventory at the start is `current`, oldest first. */
export function scheduleInventoryChanges(
  seed: number,
  accountId: string,
  current: Inventory,
  startMs: number,
): InventoryChange[] {
  const base = Math.floor(startMs / 1000) * 1000;
  const at = (kind: InventoryChangeKind): number => base + INVENTORY_CHANGE_OFFSETS_MS[kind];
  const account = `/accounts/${accountId}`;

  const rule = byName(current.gatewayRules, DISABLED_RULE);
  const contractors = byName(current.groups, 'Contractors');
  const widened = contractors['include'] as readonly Json[];
  const adminPolicy = byName(current.policies, 'Allow administrators');
  const adminRequire = adminPolicy['require'] as readonly Json[];
  const adminApp = byName(current.apps, 'Admin console');
  const okta = byName(current.identityProviders, 'Okta');
  const activeDevices = current.devices.filter((d) => d.activeRegistrations > 0);
  const device = activeDevices[hash32(seed, 0, 0xe6) % Math.max(1, activeDevices.length)];
  const newUserId = accessUserId(seed, 100_000);
  const googleId = uuid(seed, 0, 0xe7);

  const changes: InventoryChange[] = [
    {
      kind: 'gateway_rule_disabled',
      atMs: at('gateway_rule_disabled'),
      description: `Disabled Gateway rule "${DISABLED_RULE}"`,
      action: 'update',
      actor: 'security',
      resource: { id: String(rule['id']), type: 'gateway_rule', product: 'gateway', name: DISABLED_RULE },
      method: 'PUT',
      uri: `${account}/gateway/rules/${String(rule['id'])}`,
      oldValue: { enabled: true },
      newValue: { enabled: false },
      undo: (inv) => ({ ...inv, gatewayRules: patch(inv.gatewayRules, rule['id'], { enabled: true }) }),
      apply: (inv) => ({
        ...inv,
        gatewayRules: patch(inv.gatewayRules, rule['id'], {
          enabled: false,
          updated_at: iso(at('gateway_rule_disabled')),
        }),
      }),
    },
    {
      kind: 'group_include_widened',
      atMs: at('group_include_widened'),
      description: 'Added a second contractor to the Access group "Contractors"',
      action: 'update',
      actor: 'terraform',
      resource: { id: String(contractors['id']), type: 'access_group', product: 'access', name: 'Contractors' },
      method: 'PUT',
      uri: `${account}/access/groups/${String(contractors['id'])}`,
      oldValue: { include: widened.slice(0, 1) },
      newValue: { include: widened },
      undo: (inv) => ({ ...inv, groups: patch(inv.groups, contractors['id'], { include: widened.slice(0, 1) }) }),
      apply: (inv) => ({
        ...inv,
        groups: patch(inv.groups, contractors['id'], {
          include: widened,
          updated_at: iso(at('group_include_widened')),
        }),
      }),
    },
    {
      kind: 'organization_session_lengthened',
      atMs: at('organization_session_lengthened'),
      description: 'Lengthened the Access session duration from 12h to 24h',
      action: 'update',
      actor: 'owner',
      resource: { id: accountId, type: 'access_organization', product: 'access', name: 'Example Corp' },
      method: 'PUT',
      uri: `${account}/access/organizations`,
      oldValue: { session_duration: '12h' },
      newValue: { session_duration: '24h' },
      undo: (inv) => ({ ...inv, organization: { ...inv.organization, session_duration: '12h' } }),
      apply: (inv) => ({
        ...inv,
        organization: {
          ...inv.organization,
          session_duration: '24h',
          updated_at: iso(at('organization_session_lengthened')),
        },
      }),
    },
    {
      kind: 'policy_changed',
      atMs: at('policy_changed'),
      description: 'Required a United States location in the Access policy "Allow administrators"',
      action: 'update',
      actor: 'security',
      resource: {
        id: String(adminPolicy['id']),
        type: 'access_policy',
        product: 'access',
        name: 'Allow administrators',
      },
      method: 'PUT',
      uri: `${account}/access/policies/${String(adminPolicy['id'])}`,
      oldValue: { require: [] },
      newValue: { require: adminRequire },
      undo: (inv) => patchPolicy(inv, adminPolicy['id'], { require: [] }),
      apply: (inv) =>
        patchPolicy(inv, adminPolicy['id'], { require: adminRequire, updated_at: iso(at('policy_changed')) }),
    },
    {
      kind: 'user_added',
      atMs: at('user_added'),
      description: `SCIM provisioned the Access user ${NEW_USER.email}`,
      action: 'create',
      actor: 'scim',
      resource: { id: newUserId, type: 'access_user', product: 'access', name: NEW_USER.email },
      method: 'POST',
      uri: `/populations/${String(okta['id'])}/scim/v2/Users`,
      oldValue: undefined,
      newValue: { email: NEW_USER.email, name: NEW_USER.name },
      apply: (inv) => ({
        ...inv,
        users: [
          ...inv.users,
          {
            // Provisioned, never signed in: no seat in use and no last_successful_login yet.
            id: newUserId,
            uid: newUserId,
            email: NEW_USER.email,
            name: NEW_USER.name,
            access_seat: false,
            gateway_seat: false,
            active_device_count: 0,
            seat_uid: hex(seed, 100_000, 0xb3, 32),
            created_at: iso(at('user_added')),
            updated_at: iso(at('user_added')),
          },
        ],
      }),
    },
    {
      kind: 'identity_provider_added',
      atMs: at('identity_provider_added'),
      description: 'Added the identity provider "Google Workspace"',
      action: 'create',
      actor: 'it',
      resource: { id: googleId, type: 'access_identity_provider', product: 'access', name: 'Google Workspace' },
      method: 'POST',
      uri: `${account}/access/identity_providers`,
      oldValue: undefined,
      newValue: { name: 'Google Workspace', type: 'google-apps' },
      apply: (inv) => ({
        ...inv,
        identityProviders: [
          ...inv.identityProviders,
          {
            id: googleId,
            name: 'Google Workspace',
            type: 'google-apps',
            config: { client_id: hex(seed, 0, 0xe8, 20), apps_domain: 'example.com', claims: [] },
            scim_config: {
              enabled: false,
              user_deprovision: false,
              seat_deprovision: false,
              group_member_deprovision: false,
            },
          },
        ],
      }),
    },
    {
      kind: 'app_changed',
      atMs: at('app_changed'),
      description: 'Shortened the session duration of the Access application "Admin console" to 8h',
      action: 'update',
      actor: 'terraform',
      resource: { id: String(adminApp['id']), type: 'access_app', product: 'access', name: 'Admin console' },
      method: 'PUT',
      uri: `${account}/access/apps/${String(adminApp['id'])}`,
      oldValue: { session_duration: adminApp['session_duration'] },
      newValue: { session_duration: '8h' },
      apply: (inv) => ({
        ...inv,
        apps: patch(inv.apps, adminApp['id'], { session_duration: '8h', updated_at: iso(at('app_changed')) }),
      }),
    },
  ];
  if (device !== undefined) {
    const revokedAt = at('device_revoked');
    changes.push({
      kind: 'device_revoked',
      atMs: revokedAt,
      description: `Revoked the registration of device "${device.name}"`,
      action: 'update',
      actor: 'it',
      resource: { id: device.id, type: 'device', product: 'devices', name: device.name },
      method: 'POST',
      uri: `${account}/devices/revoke`,
      oldValue: { active_registrations: device.activeRegistrations },
      newValue: { active_registrations: 0, revoked_at: iso(revokedAt) },
      apply: (inv) =>
        withDevices(
          inv,
          inv.devices.map((d) => (d.id === device.id ? { ...d, activeRegistrations: 0, updatedMs: revokedAt } : d)),
        ),
    });
  }
  return changes.sort((a, b) => a.atMs - b.atMs);
}
