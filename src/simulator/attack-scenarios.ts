import { ATTACKER_NETWORKS, attackerAddress, networkOfAddress } from './addresses.js';
import type { Organisation } from './organisation.js';
import { usesApplication } from './organisation.js';
import { createPrng, hash32 } from './prng.js';

/** The attacks the simulator can inject among the organisation's normal traffic, one kind per built-in rule. */
export const ATTACK_SCENARIO_KINDS = [
  'brute_force',
  'password_spraying',
  'denied_then_allowed',
  'new_country',
  'impossible_travel',
  'first_sensitive_app',
  'unusual_idp',
  'warp_enrollment',
  'deprovisioned_login',
  'config_tampering',
  'denied_burst',
] as const;
export type AttackScenarioKind = (typeof ATTACK_SCENARIO_KINDS)[number];

/** The built-in rule each kind of attack is meant to fire. */
export const ATTACK_SCENARIO_RULES: Readonly<Record<AttackScenarioKind, string>> = {
  brute_force: 'zt-brute-force-user',
  password_spraying: 'zt-password-spraying',
  denied_then_allowed: 'zt-denied-then-allowed',
  new_country: 'zt-new-country',
  impossible_travel: 'zt-impossible-travel',
  first_sensitive_app: 'zt-first-sensitive-app',
  unusual_idp: 'zt-unusual-idp',
  warp_enrollment: 'zt-warp-new-origin',
  deprovisioned_login: 'zt-deprovisioned-login',
  config_tampering: 'zt-config-tampering',
  denied_burst: 'zt-denied-burst',
};

/** The applications an attacker with a valid account goes looking for; none of them is used by most staff. */
export const SENSITIVE_APPLICATIONS = ['Database admin', 'Finance', 'Admin console'] as const;

/**
 * Where and how many attacks to inject. Each kind happens `perKind` times (default 1) at seeded-random times in
 * [fromMs, toMs). A WARP enrolment shows only in the device inventory, which is read by snapshots, so it is
 * placed after the simulator's start when the window reaches past it.
 */
export interface AttackScenarioOptions {
  readonly fromMs: number;
  readonly toMs: number;
  readonly perKind?: number | undefined;
  readonly kinds?: readonly AttackScenarioKind[] | undefined;
}

/** The label of one injected attack, for tests and benches; the Cloudflare responses never carry it. */
export interface AttackScenario {
  readonly id: string;
  readonly kind: AttackScenarioKind;
  /** The built-in rule meant to fire on it. */
  readonly ruleId: string;
  /** The time of its first and last event. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Who the alert should name: the targeted user, the attacking address or network, the application. */
  readonly entity: { readonly user: string | null; readonly ip: string | null; readonly app: string | null };
  /** The country the attack comes from (the IP dataset places `entity.ip` there); null for one from many. */
  readonly country: string | null;
  readonly description: string;
  /** Ray ids of its Access authentication events. */
  readonly rayIds: readonly string[];
}

/** One scripted Access event, with indexes into the organisation's users, applications and identity providers. */
export interface ScriptedAccessEvent {
  readonly timeMs: number;
  readonly user: number;
  readonly app: number;
  readonly idp: number;
  readonly action: 'login' | 'warpEnrollment';
  readonly allowed: boolean;
  readonly ip: string;
  readonly rayId: string;
}

/** A SCIM deactivation the attack needs (the user offboarded before the stolen session is used). */
export interface ScriptedDeactivation {
  readonly timeMs: number;
  readonly user: number;
}

/** An administrator action the attack performs, as the audit log reports it. */
export interface ScriptedAdminAction {
  readonly timeMs: number;
  readonly kind: 'api_token_created';
  /** Where the intruder acted from. */
  readonly ip: string;
  readonly tokenName: string;
}

/** A device the attacker enrolled, as the device inventory shows it from `timeMs` on. */
export interface ScriptedEnrollment {
  readonly timeMs: number;
  readonly user: number;
  readonly publicIp: string;
  readonly key: number;
}

export interface AttackPlan {
  readonly scenarios: readonly AttackScenario[];
  readonly access: readonly ScriptedAccessEvent[];
  readonly deactivations: readonly ScriptedDeactivation[];
  readonly adminActions: readonly ScriptedAdminAction[];
  readonly enrollments: readonly ScriptedEnrollment[];
}

const MINUTE_MS = 60_000;
const SALT = 0xa77;

function rayId(seed: number, key: number): string {
  return (
    hash32(seed, key, SALT).toString(16).padStart(8, '0') +
    hash32(seed, key, SALT + 1)
      .toString(16)
      .padStart(8, '0')
  );
}

/** Builds the attacks for `seed` in the given window; the same inputs always give the same plan. */
export function planAttacks(
  seed: number,
  org: Organisation,
  startMs: number,
  windows: AttackScenarioOptions | readonly AttackScenarioOptions[],
): AttackPlan {
  const random = createPrng(hash32(seed, 0, SALT));
  const scenarios: AttackScenario[] = [];
  const access: ScriptedAccessEvent[] = [];
  const deactivations: ScriptedDeactivation[] = [];
  const adminActions: ScriptedAdminAction[] = [];
  const enrollments: ScriptedEnrollment[] = [];
  const userCount = org.users.length;
  const otp = org.identityProviders.length - 1;
  const appIndex = (name: string): number =>
    Math.max(
      0,
      org.applications.findIndex((a) => a.name === name),
    );
  const email = (user: number): string => org.users[user]?.email ?? '';
  const homeIp = (user: number): string => org.users[user]?.ips[0] ?? '';
  const used = new Set<number>();
  // Victims are staff who sign in often enough to have a history; each attack picks its own.
  const victim = (from = 0, to = Math.min(userCount, 120), taken: Set<number> = used): number => {
    for (let tries = 0; ; tries++) {
      const user = from + Math.floor(random() * (to - from));
      if (!taken.has(user) || tries > 50) {
        taken.add(user);
        return user;
      }
    }
  };
  const commonApp = (): number => appIndex(['Wiki', 'Git', 'Intranet', 'Chat'][Math.floor(random() * 4)] ?? 'Wiki');
  let net = 0;
  let serial = 0;
  const event = (
    timeMs: number,
    user: number,
    app: number,
    ip: string,
    allowed: boolean,
    fields: { idp?: number; action?: ScriptedAccessEvent['action'] } = {},
  ): string => {
    const ray = rayId(seed, serial++);
    access.push({
      timeMs: Math.floor(timeMs),
      user,
      app,
      idp: fields.idp ?? org.users[user]?.idp ?? 0,
      action: fields.action ?? 'login',
      allowed,
      ip,
      rayId: ray,
    });
    return ray;
  };
  const occurrences = new Map<AttackScenarioKind, number>();

  const list: readonly AttackScenarioOptions[] = 'fromMs' in windows ? [windows] : windows;
  for (const options of list) {
    const kinds = options.kinds ?? ATTACK_SCENARIO_KINDS;
    const perKind = Math.max(0, Math.floor(options.perKind ?? 1));
    const live = Math.max(options.fromMs, startMs + MINUTE_MS);
    for (const kind of kinds) {
      for (let i = 0; i < perKind; i++) {
        const n = occurrences.get(kind) ?? 0;
        occurrences.set(kind, n + 1);
        const from = kind === 'warp_enrollment' && options.toMs > live ? live : options.fromMs;
        const at = Math.floor(from + random() * Math.max(1, options.toMs - from - 30 * MINUTE_MS));
        const attackNet = net++;
        const attacker = attackerAddress(attackNet, Math.floor(random() * 200));
        const ip = attacker.ip;
        let country: string | null = attacker.country;
        const id = `${kind}-${n + 1}`;
        const rays: string[] = [];
        let entity: AttackScenario['entity'] = { user: null, ip: null, app: null };
        let description = '';
        let end = at;
        switch (kind) {
          case 'brute_force': {
            const user = victim();
            const app = commonApp();
            for (let i = 0; i < 14; i++) rays.push(event((end = at + i * 4_000), user, app, ip, false));
            entity = { user: email(user), ip, app: org.applications[app]?.domain ?? null };
            description = `${email(user)} denied 14 times from ${ip} in a minute`;
            break;
          }
          case 'password_spraying': {
            const app = commonApp();
            const sprayed = new Set<number>();
            for (let i = 0; i < 20; i++) {
              const user = victim(0, userCount, sprayed);
              rays.push(event((end = at + i * 3_000), user, app, attackerAddress(attackNet, i).ip, false));
            }
            entity = { user: null, ip: networkOfAddress(ip), app: org.applications[app]?.domain ?? null };
            description = `20 users denied once each from the network of ${ip} in a minute`;
            break;
          }
          case 'denied_then_allowed': {
            const user = victim();
            const app = commonApp();
            for (let i = 0; i < 6; i++) rays.push(event(at + i * 5_000, user, app, ip, false));
            rays.push(event((end = at + 40_000), user, app, ip, true));
            entity = { user: email(user), ip, app: org.applications[app]?.domain ?? null };
            description = `${email(user)} denied 6 times, then allowed from ${ip}`;
            break;
          }
          case 'new_country':
          case 'impossible_travel': {
            const user = victim();
            const app = commonApp();
            if (kind === 'impossible_travel') rays.push(event(at, user, app, homeIp(user), true));
            rays.push(event((end = at + (kind === 'impossible_travel' ? 12 * MINUTE_MS : 0)), user, app, ip, true));
            entity = { user: email(user), ip, app: org.applications[app]?.domain ?? null };
            description =
              kind === 'new_country'
                ? `${email(user)} signed in from ${ip} (${attacker.country}), abroad`
                : `${email(user)} signed in from ${homeIp(user)} (${org.users[user]?.country ?? ''}), then from ${ip} (${attacker.country}) 12 minutes later`;
            break;
          }
          case 'first_sensitive_app': {
            // Someone outside the application's audience, who has never had a reason to open it.
            const app = appIndex(SENSITIVE_APPLICATIONS[n % SENSITIVE_APPLICATIONS.length] ?? 'Database admin');
            let user = victim(40, Math.min(userCount, 140));
            for (let tries = 0; tries < 50 && usesApplication(seed, org, user, app); tries++)
              user = victim(40, Math.min(userCount, 140));
            rays.push(event(at, user, app, homeIp(user), true));
            entity = { user: email(user), ip: homeIp(user), app: org.applications[app]?.domain ?? null };
            country = org.users[user]?.country ?? null;
            description = `${email(user)} reached ${org.applications[app]?.name ?? ''} for the first time`;
            break;
          }
          case 'unusual_idp': {
            const user = victim();
            const own = org.users[user]?.idp ?? 0;
            // Another single sign-on connection than the user's own (the one-time PIN is everyone's fallback).
            const idp = [0, 1, 2, 3].find((i) => i !== own && i !== otp) ?? 0;
            const app = commonApp();
            rays.push(event(at, user, app, ip, true, { idp }));
            entity = { user: email(user), ip, app: org.applications[app]?.domain ?? null };
            description = `${email(user)} signed in through ${org.identityProviders[idp]?.type ?? ''} from ${ip}`;
            break;
          }
          case 'warp_enrollment': {
            const user = victim();
            const app = commonApp();
            rays.push(event(at, user, app, ip, true, { action: 'warpEnrollment' }));
            enrollments.push({ timeMs: at, user, publicIp: ip, key: attackNet });
            entity = { user: email(user), ip, app: null };
            description = `a device enrolled for ${email(user)} from ${ip}`;
            break;
          }
          case 'deprovisioned_login': {
            // Okta users: SCIM provisioning comes from the Okta connection.
            let user = victim();
            for (let i = 0; i < 20 && org.users[user]?.idp !== 0; i++) user = victim();
            const app = commonApp();
            deactivations.push({ timeMs: at, user });
            rays.push(event((end = at + 2 * MINUTE_MS), user, app, homeIp(user), true));
            entity = { user: email(user), ip: homeIp(user), app: org.applications[app]?.domain ?? null };
            country = org.users[user]?.country ?? null;
            description = `${email(user)} deactivated by SCIM, then signed in 2 minutes later`;
            break;
          }
          case 'config_tampering': {
            adminActions.push({
              timeMs: Math.floor(at / 1000) * 1000,
              kind: 'api_token_created',
              ip,
              tokenName: `sync-${n + 1}`,
            });
            entity = { user: null, ip, app: null };
            description = `an API token created from ${ip}`;
            break;
          }
          case 'denied_burst': {
            // A distributed guessing run: one denial per user, each from a network of its own.
            const denied = new Set<number>();
            for (let i = 0; i < 45; i++) {
              const user = victim(0, userCount, denied);
              // Networks of their own, away from the other attacks' (which take one network each from the start).
              const from = attackerAddress(
                ATTACKER_NETWORKS - 1 - ((attackNet * 45 + i) % (ATTACKER_NETWORKS - 64)),
                i,
              );
              rays.push(event((end = at + i * 1_000), user, commonApp(), from.ip, false));
            }
            entity = { user: null, ip: null, app: null };
            country = null;
            description = '45 denied logins across the organisation in 45 seconds';
            break;
          }
        }
        scenarios.push({
          id,
          kind,
          ruleId: ATTACK_SCENARIO_RULES[kind],
          fromMs: at,
          toMs: end,
          entity,
          country,
          description,
          rayIds: rays,
        });
      }
    }
  }
  access.sort((a, b) => a.timeMs - b.timeMs);
  return { scenarios: scenarios.sort((a, b) => a.fromMs - b.fromMs), access, deactivations, adminActions, enrollments };
}
