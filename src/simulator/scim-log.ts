import { DailySeries, dayTimes, SCHEDULED_SERIAL_BASE, SERIALS_PER_DAY } from './daily-series.js';
import type { Timed } from './daily-series.js';
import { uuid } from './ids.js';
import type { Inventory } from './inventory.js';
import { accessUserId } from './inventory.js';
import type { InventoryChange } from './inventory-changes.js';
import { NEW_USER } from './inventory-changes.js';
import type { Organisation } from './organisation.js';
import { buildOrganisation } from './organisation.js';
import { derive, hash32 } from './prng.js';

/** One SCIM update as `access/logs/scim/updates` returns it (additions file `SCIMUpdateLog`), with its time. */
export interface ScimRecord extends Timed {
  readonly json: Readonly<Record<string, unknown>>;
}

interface ScimProvider {
  readonly id: string;
  readonly type: string;
  readonly users: readonly number[];
  readonly groups: readonly string[];
}

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SALT = 0x5c;
const LEAVERS = 40;
const TITLES = ['Engineer', 'Senior Engineer', 'Engineering Manager', 'Accountant', 'Support Specialist', 'Designer'];
// Group names as each kind of directory tends to spell them.
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  okta: ['engineering', 'finance', 'sales', 'support', 'contractors'],
  azureAD: ['Administrators', 'IT Operations', 'Finance Approvers', 'All Staff'],
};
const ALPHANUMERIC = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
// What each kind of request failed with, when it failed; Cloudflare documents no catalogue of these messages.
const FAILURES = {
  createUser: 'User already exists in the population',
  updateUser: 'User not found',
  group: 'Group member could not be resolved',
} as const;

type Kind = 'putUser' | 'patchUser' | 'deactivateUser' | 'createUser' | 'deleteUser' | 'createGroup' | 'addMember';
const KINDS: readonly (readonly [Kind, number])[] = [
  ['putUser', 0.28],
  ['patchUser', 0.5],
  ['deactivateUser', 0.58],
  ['createUser', 0.7],
  ['deleteUser', 0.73],
  ['createGroup', 0.78],
  ['addMember', 1],
];

// Okta ids are 20 characters starting with a type prefix (00u users, 00g groups); Azure AD uses GUIDs.
function idpResourceId(seed: number, provider: ScimProvider, key: number, okta: '00u' | '00g'): string {
  if (provider.type !== 'okta') return uuid(seed, key, 0x5e);
  let id = okta;
  for (let i = 0; id.length < 20; i++) id += ALPHANUMERIC[hash32(seed, key, 0x5f + i) % ALPHANUMERIC.length] ?? '0';
  return id;
}

function userBody(email: string, name: string, externalId: string, title: string | undefined): string {
  const [givenName = '', familyName = ''] = name.split(' ');
  return JSON.stringify({
    schemas: [USER_SCHEMA],
    externalId,
    userName: email,
    name: { givenName, familyName },
    displayName: name,
    emails: [{ value: email, type: 'work', primary: true }],
    ...(title === undefined ? {} : { title }),
    active: true,
  });
}

/** SCIM provisioning pushed by the organisation's SCIM-enabled identity providers, generated day by day. */
export class ScimLog {
  readonly #seed: number;
  readonly #org: Organisation;
  readonly #providers: readonly ScimProvider[];
  /** Former staff: the people offboarding deactivates and deletes, who no longer sign in anywhere. */
  readonly #leavers: readonly { readonly email: string; readonly name: string }[];
  readonly #series: DailySeries<ScimRecord>;

  constructor(
    seed: number,
    org: Organisation,
    inventory: Inventory,
    changes: readonly InventoryChange[],
    options: {
      historyStartMs: number;
      perDay: number;
      /** Users deactivated at set times (injected attacks), besides the generated traffic. */
      deactivations?: readonly { readonly timeMs: number; readonly user: number }[] | undefined;
    },
  ) {
    this.#seed = seed;
    this.#org = org;
    this.#leavers = buildOrganisation(seed, org.users.length + LEAVERS).users.slice(org.users.length);
    this.#providers = inventory.identityProviders
      .filter((idp) => (idp['scim_config'] as Record<string, unknown> | undefined)?.['enabled'] === true)
      .map((idp) => {
        const index = org.identityProviders.findIndex((p) => p.id === idp['id']);
        return {
          id: String(idp['id']),
          type: String(idp['type']),
          users: org.users.flatMap((user, u) => (user.idp === index ? [u] : [])),
          groups: GROUPS[String(idp['type'])] ?? ['all-users'],
        };
      })
      .filter((provider) => provider.users.length > 0);
    const scheduled = changes.flatMap((change, i) =>
      change.kind === 'user_added' ? [this.#provisioned(change, i)] : [],
    );
    const deactivations = (options.deactivations ?? []).map((d, i) =>
      this.#deactivation(d.timeMs, d.user, SCHEDULED_SERIAL_BASE + scheduled.length + i),
    );
    this.#series = new DailySeries((day) => this.#day(day, options.perDay), options.historyStartMs, [
      ...scheduled,
      ...deactivations,
    ]);
  }

  /** The SCIM-enabled identity providers the records come from. */
  get providerIds(): readonly string[] {
    return this.#providers.map((p) => p.id);
  }

  between(fromMs: number, toMs: number): ScimRecord[] {
    return this.#series.between(fromMs, toMs);
  }

  #day(day: number, perDay: number): ScimRecord[] {
    if (this.#providers.length === 0 || perDay <= 0) return [];
    return dayTimes(this.#seed, SALT, day, perDay, false).map((timeMs, i) =>
      this.#record(timeMs, day * SERIALS_PER_DAY + i),
    );
  }

  // The new hire of the scheduled `user_added` change arrives through the first SCIM provider (Okta).
  #provisioned(change: InventoryChange, index: number): ScimRecord {
    const seed = this.#seed;
    const provider = this.#providers[0];
    const externalId = provider === undefined ? '' : idpResourceId(seed, provider, 100_000, '00u');
    return {
      timeMs: change.atMs,
      serial: SCHEDULED_SERIAL_BASE + index,
      json: {
        cf_resource_id: change.resource.id,
        error_description: '',
        idp_id: provider?.id ?? '',
        idp_resource_id: externalId,
        logged_at: new Date(change.atMs).toISOString(),
        request_body: userBody(NEW_USER.email, NEW_USER.name, externalId, undefined),
        request_method: 'POST',
        resource_group_name: '',
        resource_type: 'USER',
        resource_user_email: NEW_USER.email,
        status: 'SUCCESS',
      },
    };
  }

  // The user's own directory deactivates the user (the first SCIM provider when the user's is not one).
  #deactivation(timeMs: number, u: number, serial: number): ScimRecord {
    const seed = this.#seed;
    const provider = this.#providers.find((p) => p.users.includes(u)) ?? this.#providers[0];
    const user = this.#org.users[u];
    return {
      timeMs,
      serial,
      json: {
        cf_resource_id: accessUserId(seed, u),
        error_description: '',
        idp_id: provider?.id ?? '',
        idp_resource_id: provider === undefined ? '' : idpResourceId(seed, provider, u, '00u'),
        logged_at: new Date(timeMs).toISOString(),
        request_body: JSON.stringify({
          schemas: [PATCH_SCHEMA],
          Operations: [{ op: 'replace', value: { active: false } }],
        }),
        request_method: 'PATCH',
        resource_group_name: '',
        resource_type: 'USER',
        resource_user_email: user?.email ?? 'unknown@example.com',
        status: 'SUCCESS',
      },
    };
  }

  #record(timeMs: number, serial: number): ScimRecord {
    const seed = this.#seed;
    const base = hash32(seed, serial, SALT);
    const roll = (salt: number): number => derive(base, salt) / 4294967296;
    // Okta serves the larger population and pushes most of the updates.
    const provider = this.#providers[roll(1) < 0.6 ? 0 : this.#providers.length - 1] ?? this.#providers[0];
    if (provider === undefined) throw new Error('no SCIM provider');
    const k = roll(3);
    const kind = KINDS.find(([, upTo]) => k < upTo)?.[0] ?? 'putUser';
    // Offboarding concerns people who have left, and they sign in nowhere afterwards.
    const leaving = kind === 'deactivateUser' || kind === 'deleteUser';
    const picked = provider.users[Math.floor(roll(2) * provider.users.length)] ?? 0;
    const leaver = Math.floor(roll(7) * this.#leavers.length);
    const u = leaving ? this.#org.users.length + leaver : picked;
    const user = leaving ? this.#leavers[leaver] : this.#org.users[u];
    const email = user?.email ?? 'unknown@example.com';
    const name = user?.name ?? 'Unknown User';
    const userId = accessUserId(seed, u);
    const userExternalId = idpResourceId(seed, provider, u, '00u');
    const failed = roll(4) < (kind === 'createUser' ? 0.2 : 0.03);
    const groupIndex = Math.floor(roll(5) * provider.groups.length);
    const groupName = provider.groups[groupIndex] ?? 'all-users';
    const groupKey = hash32(0x6770, groupIndex, provider.id.length + provider.type.length);
    const title = TITLES[Math.floor(roll(6) * TITLES.length)] ?? 'Engineer';
    const member = [{ value: userId, display: email }];
    const isGroup = kind === 'createGroup' || kind === 'addMember';
    const fields = ((): { method: string; body: string; failure: string } => {
      switch (kind) {
        case 'putUser':
          return { method: 'PUT', body: userBody(email, name, userExternalId, title), failure: FAILURES.updateUser };
        case 'patchUser':
          return {
            method: 'PATCH',
            body: JSON.stringify({
              schemas: [PATCH_SCHEMA],
              Operations: [{ op: 'replace', path: 'title', value: title }],
            }),
            failure: FAILURES.updateUser,
          };
        case 'deactivateUser':
          return {
            method: 'PATCH',
            body: JSON.stringify({
              schemas: [PATCH_SCHEMA],
              Operations: [{ op: 'replace', value: { active: false } }],
            }),
            failure: FAILURES.updateUser,
          };
        case 'createUser':
          return { method: 'POST', body: userBody(email, name, userExternalId, title), failure: FAILURES.createUser };
        case 'deleteUser':
          // DELETE carries no body; the log keeps an empty string.
          return { method: 'DELETE', body: '', failure: FAILURES.updateUser };
        case 'createGroup':
          return {
            method: 'POST',
            body: JSON.stringify({
              schemas: [GROUP_SCHEMA],
              displayName: groupName,
              externalId: idpResourceId(seed, provider, groupKey, '00g'),
              members: member,
            }),
            failure: FAILURES.group,
          };
        default:
          return {
            method: 'PATCH',
            body: JSON.stringify({
              schemas: [PATCH_SCHEMA],
              Operations: [{ op: 'add', path: 'members', value: member }],
            }),
            failure: FAILURES.group,
          };
      }
    })();
    return {
      timeMs,
      serial,
      json: {
        cf_resource_id: isGroup ? uuid(seed, groupKey, 0x5d) : userId,
        error_description: failed ? fields.failure : '',
        idp_id: provider.id,
        idp_resource_id: isGroup ? idpResourceId(seed, provider, groupKey, '00g') : userExternalId,
        logged_at: new Date(timeMs).toISOString(),
        request_body: fields.body,
        request_method: fields.method,
        resource_group_name: isGroup ? groupName : '',
        resource_type: isGroup ? 'GROUP' : 'USER',
        // For group requests, the member the request adds.
        resource_user_email: email,
        status: failed ? 'FAILURE' : 'SUCCESS',
      },
    };
  }
}
