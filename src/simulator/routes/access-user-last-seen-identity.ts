import { countryOfAddress } from '../addresses.js';
import { failure, success, unroutableAccount } from '../envelope.js';
import { isoSeconds, uuid } from '../ids.js';
import type { SimulatedDevice } from '../inventory.js';
import { buildOrganisation } from '../organisation.js';
import type { Organisation } from '../organisation.js';
import { hash32, unit } from '../prng.js';
import type { SimulatorData } from './route.js';
import { accessUserRoute, userLogEvents } from './access-user-route.js';
import type { AccessUserSubject, UserLogEvent } from './access-user-route.js';

type Json = Record<string, unknown>;

const DAY_MS = 86_400_000;
// How far back the simulator looks for the user's last login; every regular simulated user logs in daily.
const LOOKBACK_DAYS = 7;
// Countries an address the simulator does not know (a hostile value) is placed in.
const ELSEWHERE = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'BR', 'IN', 'SG', 'JP', 'AU'] as const;

interface PostureRule {
  readonly name: string;
  readonly type: string;
  readonly description: string;
  /** Chance the check fails on a device; 0 for checks that pass whenever the client reports at all. */
  readonly failRate: number;
  /** Only file checks carry a path; mobile platforms cannot run them. */
  readonly file?: Readonly<Partial<Record<SimulatedDevice['deviceType'], string>>>;
}

// The account's device posture rules; ids are fixed per seed, as a rule's id is per account.
const POSTURE_RULES: readonly PostureRule[] = [
  {
    name: 'WARP client connected',
    type: 'warp',
    description: 'The device runs the Cloudflare One client.',
    failRate: 0,
  },
  { name: 'Gateway connected', type: 'gateway', description: 'Traffic goes through Gateway.', failRate: 0 },
  { name: 'Disk encryption', type: 'disk_encryption', description: 'All volumes are encrypted.', failRate: 0.08 },
  { name: 'Firewall enabled', type: 'firewall', description: 'The OS firewall is on.', failRate: 0.12 },
  { name: 'Supported OS version', type: 'os_version', description: 'The OS is a supported release.', failRate: 0.1 },
  {
    name: 'Endpoint agent installed',
    type: 'file',
    description: 'The endpoint protection agent is present.',
    failRate: 0.05,
    file: {
      windows: 'C:\\Program Files\\Example EDR\\agent.exe',
      mac: '/Applications/Example EDR.app',
      linux: '/opt/example-edr/bin/agent',
    },
  },
];

// Built once per seed (a few hundred microseconds); the simulator's organisation is the default 200-user one.
const ORGANISATIONS = new Map<number, Organisation>();

function organisation(seed: number): Organisation {
  let org = ORGANISATIONS.get(seed);
  if (org === undefined) {
    if (ORGANISATIONS.size >= 16) ORGANISATIONS.clear();
    org = buildOrganisation(seed);
    ORGANISATIONS.set(seed, org);
  }
  return org;
}

function textKey(text: string): number {
  let key = 0;
  for (let i = 0; i < text.length; i++) key = (Math.imul(key, 31) + text.charCodeAt(i)) >>> 0;
  return key;
}

/** The most recent allowed login of the user in the lookback, newest day first, or undefined. */
function lastLogin(data: SimulatorData, email: string): UserLogEvent | undefined {
  for (let day = 0; day < LOOKBACK_DAYS; day++) {
    const untilMs = data.nowMs - day * DAY_MS;
    const events = userLogEvents(data, email, {
      sinceMs: untilMs - DAY_MS + 1,
      untilMs,
      direction: 'desc',
      size: Number.MAX_SAFE_INTEGER,
    });
    const found = events.find(
      (e) => e.record['allowed'] === true && e.record['action'] === 'login' && !Number.isNaN(e.timeMs),
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

function posture(seed: number, device: SimulatedDevice, iat: number): Json {
  const out: Json = {};
  POSTURE_RULES.forEach((rule, index) => {
    const path = rule.file?.[device.deviceType];
    if (rule.file !== undefined && path === undefined) return;
    const id = uuid(seed, index, 0xf1);
    const passed = unit(seed, textKey(`${device.id}|${iat}`), 0xf2 + index) >= rule.failRate;
    out[id] = {
      id,
      rule_name: rule.name,
      type: rule.type,
      description: rule.description,
      success: passed,
      // Posture results are reported by the client shortly before the login they were evaluated for.
      timestamp: isoSeconds((iat - 30 - (hash32(seed, index, iat) % 240)) * 1000),
      ...(path === undefined ? {} : { check: { exists: passed, path } }),
    };
  });
  return out;
}

/**
 * The identity Access built at the user's last allowed login in the simulated log (its time, address and IdP),
 * with the device facts the inventory knows: a user with an active device signs in through the device client
 * (WARP and Gateway) and carries that device's posture results.
 */
function identity(data: SimulatorData, subject: AccessUserSubject, login: UserLogEvent): Json {
  const org = organisation(data.seed);
  const orgUser = org.users.find((u) => u.email === subject.email);
  const ip = String(login.record['ip_address']);
  // Where the IP dataset places the address, from the simulator's own table; hostile values are placed anywhere.
  const country =
    orgUser !== undefined && orgUser.ips.includes(ip)
      ? orgUser.country
      : (countryOfAddress(ip) ?? ELSEWHERE[hash32(data.seed, textKey(ip), 0xf3) % ELSEWHERE.length] ?? 'US');
  const idp = org.identityProviders.find((p) => p.type === login.record['connection']);
  const iat = Math.floor(login.timeMs / 1000);
  const device = data.inventory.devices
    .filter((d) => d.userId === subject.id && d.activeRegistrations > 0)
    .sort((a, b) => b.lastSeenMs - a.lastSeenMs || (a.id < b.id ? -1 : 1))[0];
  return {
    account_id: data.accountId,
    auth_status: 'NONE',
    common_name: '',
    device_id: device?.id ?? '',
    device_sessions: device === undefined ? {} : { [device.id]: { last_authenticated: iat } },
    devicePosture: device === undefined ? {} : posture(data.seed, device, iat),
    email: subject.email,
    geo: { country },
    iat,
    idp: idp === undefined ? { id: '', type: String(login.record['connection']) } : { id: idp.id, type: idp.type },
    ip,
    is_gateway: device !== undefined,
    is_warp: device !== undefined,
    mtls_auth: { auth_status: 'NONE', cert_issuer_dn: '', cert_issuer_ski: '', cert_presented: false, cert_serial: '' },
    service_token_id: '',
    service_token_status: false,
    user_uuid: subject.id,
    version: 2,
  };
}

/**
 * GET /accounts/{account_id}/access/users/{user_id}/last_seen_identity. A user with no allowed login in the
 * lookback (one SCIM has just provisioned, say) has no identity to show and gets the same 404 as an unknown id.
 */
export const accessUserLastSeenIdentity = accessUserRoute({
  name: 'access-user-last-seen-identity',
  suffix: 'last_seen_identity',
  answer: (subject, { data, accountId }) => {
    const login = lastLogin(data, subject.email);
    if (login === undefined)
      return failure(
        404,
        unroutableAccount(`/accounts/${accountId ?? ''}/access/users/${subject.id}/last_seen_identity`),
      );
    return success(JSON.stringify(identity(data, subject, login)));
  },
});
