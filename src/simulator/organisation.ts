import { staffAddress, type StaffCountry } from './addresses.js';
import { hash32, unit } from './prng.js';

export interface SimulatedIdentityProvider {
  readonly id: string;
  readonly name: string;
  /** The value Access logs report in `connection`. */
  readonly type: string;
}

export interface SimulatedApplication {
  readonly uid: string;
  readonly name: string;
  readonly domain: string;
  /** Chance that a login to this application is denied; admin tools deny more. */
  readonly denyRate: number;
  readonly popularity: number;
  /** The share of staff whose role includes the application (1: everyone). */
  readonly audience: number;
}

export interface SimulatedUser {
  readonly email: string;
  readonly name: string;
  /** Home country; every address in `ips` lies in it. */
  readonly country: StaffCountry;
  readonly idp: number;
  readonly ips: readonly string[];
  readonly denyRate: number;
}

export interface Organisation {
  readonly users: readonly SimulatedUser[];
  readonly applications: readonly SimulatedApplication[];
  readonly identityProviders: readonly SimulatedIdentityProvider[];
  /** Cumulative application popularity, for weighted picks. */
  readonly applicationWeights: Float64Array;
}

const FIRST_NAMES = [
  'ada',
  'alan',
  'amara',
  'anders',
  'aiko',
  'bea',
  'boris',
  'carla',
  'chen',
  'chidi',
  'dana',
  'diego',
  'elif',
  'emeka',
  'erik',
  'fatima',
  'felix',
  'grace',
  'hana',
  'hugo',
  'ines',
  'ivan',
  'jamal',
  'jin',
  'kara',
  'kofi',
  'lars',
  'leila',
  'lucia',
  'malik',
  'maria',
  'mei',
  'nadia',
  'nils',
  'olga',
  'omar',
  'paula',
  'priya',
  'quinn',
  'rahul',
  'rosa',
  'sami',
  'sofia',
  'tariq',
  'tomas',
  'uma',
  'vera',
  'wei',
  'yara',
  'zoe',
] as const;
const LAST_NAMES = [
  'adams',
  'baker',
  'costa',
  'dubois',
  'eriksen',
  'fischer',
  'garcia',
  'haddad',
  'ito',
  'jensen',
  'kim',
  'lopez',
  'mueller',
  'nakamura',
  'okafor',
  'petrov',
  'quispe',
  'rossi',
  'silva',
  'tanaka',
  'usman',
  'varga',
  'wong',
  'xu',
  'yilmaz',
  'zhang',
] as const;
const COUNTRIES: readonly StaffCountry[] = [
  'US',
  'US',
  'US',
  'GB',
  'DE',
  'FR',
  'NL',
  'IN',
  'JP',
  'BR',
  'CA',
  'AU',
  'SG',
  'PL',
];

const IDENTITY_PROVIDERS: readonly SimulatedIdentityProvider[] = [
  { id: '5c4b9a1e-3f2d-4e8a-9b7c-1d2e3f4a5b60', name: 'Okta', type: 'okta' },
  { id: '7a1d2c3b-4e5f-4a6b-8c9d-0e1f2a3b4c71', name: 'Azure AD', type: 'azureAD' },
  { id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c82', name: 'Corporate SAML', type: 'saml' },
  { id: '1b2c3d4e-5f6a-4b7c-9d8e-7f6a5b4c3d93', name: 'GitHub', type: 'github' },
  { id: '3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5fa4', name: 'One-time PIN', type: 'onetimepin' },
];
// Most staff sign in through the primary IdPs; the one-time PIN serves contractors and fallbacks.
const IDP_SHARE = [0.45, 0.3, 0.12, 0.08, 0.05] as const;

// Administration, database and finance tools belong to a few roles; nobody else signs in to them.
const RESTRICTED: Readonly<Record<string, number>> = { 'Admin console': 0.1, 'Database admin': 0.08, Finance: 0.12 };

const APPLICATIONS: readonly Omit<SimulatedApplication, 'uid' | 'audience'>[] = [
  { name: 'Wiki', domain: 'wiki.example.com', denyRate: 0.02, popularity: 14 },
  { name: 'Git', domain: 'git.example.com', denyRate: 0.03, popularity: 12 },
  { name: 'Grafana', domain: 'grafana.example.com', denyRate: 0.04, popularity: 8 },
  { name: 'Jenkins', domain: 'ci.example.com', denyRate: 0.05, popularity: 7 },
  { name: 'HR portal', domain: 'hr.example.com', denyRate: 0.03, popularity: 5 },
  { name: 'Helpdesk', domain: 'helpdesk.example.com', denyRate: 0.02, popularity: 9 },
  { name: 'Intranet', domain: 'intranet.example.com', denyRate: 0.01, popularity: 15 },
  { name: 'Admin console', domain: 'admin.example.com/console', denyRate: 0.25, popularity: 2 },
  { name: 'Database admin', domain: 'db.example.com/admin', denyRate: 0.3, popularity: 1.5 },
  { name: 'SSH bastion', domain: 'ssh.example.com', denyRate: 0.12, popularity: 3 },
  { name: 'Kibana', domain: 'logs.example.com', denyRate: 0.05, popularity: 4 },
  { name: 'Finance', domain: 'finance.example.com', denyRate: 0.15, popularity: 2 },
  { name: 'Status', domain: 'status.example.com', denyRate: 0.01, popularity: 6 },
  { name: 'Chat', domain: 'chat.example.com', denyRate: 0.01, popularity: 10 },
  { name: 'Staging', domain: 'staging.example.com', denyRate: 0.08, popularity: 3 },
];

const HEX = '0123456789abcdef';

// App UIDs depend only on the app name, so they stay the same whatever seed a run uses.
function uuidFrom(text: string): string {
  let key = 0;
  for (let i = 0; i < text.length; i++) key = (Math.imul(key, 31) + text.charCodeAt(i)) >>> 0;
  let hex = '';
  for (let i = 0; i < 4; i++) hex += hash32(0x5eed, key, i).toString(16).padStart(8, '0');
  const variant = HEX[8 + (parseInt(hex[16] ?? '0', 16) & 3)] ?? '8';
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The synthetic organisation for `seed`: about 200 users, 15 Access applications and 5 identity providers. */
export function buildOrganisation(seed: number, userCount = 200): Organisation {
  const used = new Set<string>();
  const users: SimulatedUser[] = [];
  for (let i = 0; users.length < userCount; i++) {
    const first = FIRST_NAMES[hash32(seed, i, 1) % FIRST_NAMES.length] ?? 'user';
    const last = LAST_NAMES[hash32(seed, i, 2) % LAST_NAMES.length] ?? 'example';
    let local = `${first}.${last}`;
    for (let n = 2; used.has(local); n++) local = `${first}.${last}${n}`;
    used.add(local);
    const r = unit(seed, i, 3);
    let idp = 0;
    for (let acc = 0; idp < IDP_SHARE.length - 1; idp++) {
      acc += IDP_SHARE[idp] ?? 0;
      if (r < acc) break;
    }
    const country = COUNTRIES[hash32(seed, i, 6) % COUNTRIES.length] ?? 'US';
    // Home, office and phone: public addresses the IP dataset places in the user's home metro area.
    const ipCount = 1 + (hash32(seed, i, 4) % 3);
    const ips = [
      ...new Set(Array.from({ length: ipCount }, (_, k) => staffAddress(country, hash32(seed, i * 8 + k, 0x1b)))),
    ];
    // A handful of accounts fail often (stale passwords, blocked devices): they carry most denials.
    const risky = unit(seed, i, 5) < 0.05;
    users.push({
      email: `${local}@example.com`,
      name: `${first[0]?.toUpperCase() ?? ''}${first.slice(1)} ${last[0]?.toUpperCase() ?? ''}${last.slice(1)}`,
      country,
      idp,
      ips,
      denyRate: risky ? 0.35 : 0.02,
    });
  }
  const applications = APPLICATIONS.map((app) => ({
    ...app,
    uid: uuidFrom(app.domain),
    audience: RESTRICTED[app.name] ?? 1,
  }));
  const applicationWeights = new Float64Array(applications.length);
  let total = 0;
  applications.forEach((app, i) => {
    total += app.popularity;
    applicationWeights[i] = total;
  });
  for (let i = 0; i < applicationWeights.length; i++) applicationWeights[i] = (applicationWeights[i] ?? 0) / total;
  return { users, applications, identityProviders: IDENTITY_PROVIDERS, applicationWeights };
}

/** Whether the user at `user` has a role that includes the application at `app`. */
export function usesApplication(seed: number, org: Organisation, user: number, app: number): boolean {
  const audience = org.applications[app]?.audience ?? 1;
  return audience >= 1 || unit(seed, user, 0x70 + app) < audience;
}
