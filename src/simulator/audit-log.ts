import { staffAddress } from './addresses.js';
import { DailySeries, dayTimes, SCHEDULED_SERIAL_BASE, SERIALS_PER_DAY } from './daily-series.js';
import type { Timed } from './daily-series.js';
import { hex, uuid } from './ids.js';
import type { ChangeActor, InventoryChange } from './inventory-changes.js';
import type { ScriptedAdminAction } from './attack-scenarios.js';
import type { Organisation } from './organisation.js';
import { derive, hash32 } from './prng.js';

type Json = Record<string, unknown>;

/** Who acted: an administrator in the dashboard, an API token, or Cloudflare's own systems (SCIM). */
export interface AuditActor {
  readonly id: string;
  readonly email?: string;
  readonly ip?: string;
  readonly context: 'dash' | 'api_token' | 'api';
  readonly type: 'user' | 'system';
  readonly tokenId?: string;
  readonly tokenName?: string;
  readonly userAgent: string;
}

/** One account audit log entry; the v1 and v2 endpoints render the same entries (see audit-render.ts). */
export interface AuditEntry extends Timed {
  readonly id: string;
  readonly actor: AuditActor;
  /** v1's action type; v2 takes `create|update|delete|view`, where a login is the creation of a session. */
  readonly action: 'create' | 'update' | 'view' | 'login';
  readonly result: boolean;
  readonly description: string;
  readonly resource: {
    readonly id: string;
    readonly type: string;
    readonly product: string;
    readonly scope: 'accounts' | 'user';
    readonly name?: string;
  };
  readonly oldValue?: Json;
  readonly newValue?: Json;
  readonly raw: { readonly method: string; readonly uri: string; readonly statusCode: number; readonly rayId: string };
}

const SALT = 0xad;
const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const TERRAFORM = 'Terraform/1.9.5 terraform-provider-cloudflare/4.40.0';
// Zero Trust pages administrators look at; each view lists one kind of resource.
const VIEWS: readonly (readonly [string, string, string])[] = [
  ['/access/apps', 'access_app', 'access'],
  ['/access/policies', 'access_policy', 'access'],
  ['/access/groups', 'access_group', 'access'],
  ['/access/identity_providers', 'access_identity_provider', 'access'],
  ['/gateway/rules', 'gateway_rule', 'gateway'],
  ['/devices/physical-devices', 'device', 'devices'],
];

function buildActors(seed: number, org: Organisation): Readonly<Record<ChangeActor, AuditActor>> {
  const admin = (index: number): AuditActor => {
    const user = org.users[index];
    return {
      id: hex(seed, index, 0xe0, 32),
      email: user?.email ?? 'admin@example.com',
      ip: user?.ips[0] ?? staffAddress('US', index),
      context: 'dash',
      type: 'user',
      userAgent: BROWSER,
    };
  };
  const owner = admin(7);
  return {
    owner,
    security: admin(19),
    it: admin(42),
    // The owner's Terraform token, run from the CI network.
    terraform: {
      id: owner.id,
      ...(owner.email === undefined ? {} : { email: owner.email }),
      ip: staffAddress('US', 0xc1),
      context: 'api_token',
      type: 'user',
      tokenId: hex(seed, 1, 0xe1, 32),
      tokenName: 'terraform-zero-trust',
      userAgent: TERRAFORM,
    },
    scim: { id: hex(seed, 2, 0xe1, 32), context: 'api', type: 'system', userAgent: 'Okta SCIM Client 1.0.0' },
  };
}

/** The account's audit log: the scheduled inventory changes plus routine logins and views, generated day by day. */
export class AuditLog {
  readonly #seed: number;
  readonly #accountId: string;
  readonly #actors: Readonly<Record<ChangeActor, AuditActor>>;
  readonly #series: DailySeries<AuditEntry>;

  constructor(
    seed: number,
    accountId: string,
    org: Organisation,
    changes: readonly InventoryChange[],
    options: {
      historyStartMs: number;
      perDay: number;
      /** Administrator actions of injected attacks, besides the scheduled changes and the routine. */
      adminActions?: readonly ScriptedAdminAction[] | undefined;
    },
  ) {
    this.#seed = seed;
    this.#accountId = accountId;
    this.#actors = buildActors(seed, org);
    const scheduled = changes.map((change, i) => this.#changeEntry(change, SCHEDULED_SERIAL_BASE + i));
    for (const [i, action] of (options.adminActions ?? []).entries())
      scheduled.push(this.#adminAction(action, SCHEDULED_SERIAL_BASE + changes.length + i));
    this.#series = new DailySeries(
      (day) =>
        options.perDay <= 0
          ? []
          : dayTimes(seed, SALT, day, options.perDay, true).map((t, i) => this.#routine(t, day * SERIALS_PER_DAY + i)),
      options.historyStartMs,
      scheduled,
    );
  }

  between(fromMs: number, toMs: number): AuditEntry[] {
    return this.#series.between(fromMs, toMs);
  }

  #changeEntry(change: InventoryChange, serial: number): AuditEntry {
    return {
      timeMs: change.atMs,
      serial,
      id: uuid(this.#seed, serial - SCHEDULED_SERIAL_BASE, 0xae),
      actor: this.#actors[change.actor],
      action: change.action,
      result: true,
      description: change.description,
      resource: { ...change.resource, scope: 'accounts' },
      ...(change.oldValue === undefined ? {} : { oldValue: change.oldValue }),
      newValue: change.newValue,
      raw: {
        method: change.method,
        uri: change.uri,
        statusCode: change.method === 'POST' ? 201 : 200,
        rayId: hex(this.#seed, serial, 0xaf, 16),
      },
    };
  }

  // An intruder in the IT administrator's dashboard session creates an account API token to keep a way back in.
  #adminAction(action: ScriptedAdminAction, serial: number): AuditEntry {
    const tokenId = hex(this.#seed, serial, 0xb1, 32);
    return {
      timeMs: action.timeMs,
      serial,
      id: uuid(this.#seed, serial - SCHEDULED_SERIAL_BASE, 0xae),
      actor: { ...this.#actors.it, ip: action.ip },
      action: 'create',
      result: true,
      description: `Created API token "${action.tokenName}"`,
      resource: { id: tokenId, type: 'api_token', product: 'api_tokens', scope: 'accounts', name: action.tokenName },
      newValue: { name: action.tokenName, status: 'active' },
      raw: {
        method: 'POST',
        uri: `/accounts/${this.#accountId}/tokens`,
        statusCode: 201,
        rayId: hex(this.#seed, serial, 0xaf, 16),
      },
    };
  }

  #routine(timeMs: number, serial: number): AuditEntry {
    const base = hash32(this.#seed, serial, SALT);
    const roll = (salt: number): number => derive(base, salt) / 4294967296;
    const admins = [this.#actors.owner, this.#actors.security, this.#actors.it];
    const admin = admins[Math.floor(roll(1) * admins.length)] ?? this.#actors.owner;
    const id = uuid(this.#seed, serial, SALT);
    const rayId = hex(this.#seed, serial, 0xaf, 16);
    const kind = roll(2);
    if (kind < 0.45) {
      // A few sign-ins fail: a mistyped password or an expired second factor.
      const result = roll(3) >= 0.1;
      return {
        timeMs,
        serial,
        id,
        actor: admin,
        action: 'login',
        result,
        description: result ? 'Logged in to the dashboard' : 'Failed to log in to the dashboard',
        resource: { id: admin.id, type: 'session', product: 'dashboard', scope: 'user' },
        raw: { method: 'POST', uri: '/login', statusCode: result ? 200 : 401, rayId },
      };
    }
    const [path, type, product] = VIEWS[Math.floor(roll(4) * VIEWS.length)] ?? ['/access/apps', 'access_app', 'access'];
    // Terraform plans read the configuration too.
    const actor = roll(5) < 0.2 ? this.#actors.terraform : admin;
    return {
      timeMs,
      serial,
      id,
      actor,
      action: 'view',
      result: true,
      description: `Listed ${type.replace(/_/g, ' ')}s`,
      resource: { id: this.#accountId, type, product, scope: 'accounts' },
      raw: { method: 'GET', uri: `/accounts/${this.#accountId}${path}`, statusCode: 200, rayId },
    };
  }
}
