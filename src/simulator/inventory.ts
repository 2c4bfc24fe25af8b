import type { Organisation, SimulatedApplication, SimulatedIdentityProvider } from './organisation.js';
import { hex, isoSeconds as iso, uuid } from './ids.js';
import { hash32, unit } from './prng.js';

// Shapes follow shared/cloudflare/openapi-zero-trust.json (spec-2024) and, for physical devices, the additions file.
// Only documented fields appear; optional fields are filled where a real tenant would have them.

type Json = Record<string, unknown>;

/** A physical device with the registration facts both device endpoints render. */
export interface SimulatedDevice {
  readonly id: string;
  readonly name: string;
  /** The Access user (`users[].id`) the device is registered to. */
  readonly userId: string;
  readonly deviceType: 'windows' | 'mac' | 'linux' | 'android' | 'ios';
  readonly activeRegistrations: number;
  readonly createdMs: number;
  readonly lastSeenMs: number;
  readonly updatedMs: number;
  readonly clientVersion: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly osVersion: string;
  readonly serialNumber: string;
  readonly macAddress: string;
  readonly publicIp: string;
  readonly key: string;
}

/** The Zero Trust configuration and identity inventory of the simulated account, rendered as the API returns it. */
export interface Inventory {
  readonly users: readonly Json[];
  readonly organization: Json;
  readonly identityProviders: readonly Json[];
  readonly groups: readonly Json[];
  readonly policies: readonly Json[];
  readonly apps: readonly Json[];
  readonly gatewayAccount: Json;
  readonly gatewayConfiguration: Json;
  readonly gatewayRules: readonly Json[];
  readonly devices: readonly SimulatedDevice[];
}

// Inventory timestamps sit before this instant whatever the clock says, so a seed always renders the same bytes.
const EPOCH_MS = Date.parse('2026-01-01T00:00:00Z');
const DAY_MS = 86_400_000;

function daysBefore(seed: number, key: number, salt: number, maxDays: number, end = EPOCH_MS): number {
  return end - Math.floor(unit(seed, key, salt) * maxDays * DAY_MS);
}

function identityProviderConfig(idp: SimulatedIdentityProvider, seed: number): Json {
  const clientId = hex(seed, 7, idp.id.length + idp.name.length, 20);
  switch (idp.type) {
    case 'okta':
      return {
        client_id: clientId,
        okta_account: 'https://example.okta.com',
        claims: ['email_verified', 'groups'],
        email_claim_name: 'email',
      };
    case 'azureAD':
      return {
        client_id: uuid(seed, 8, 1),
        directory_id: uuid(seed, 8, 2),
        support_groups: true,
        conditional_access_enabled: false,
        prompt: 'select_account',
        claims: [],
      };
    case 'saml':
      return {
        issuer_url: 'https://sso.example.com/saml/metadata',
        sso_target_url: 'https://sso.example.com/saml/login',
        email_attribute_name: 'email',
        attributes: ['groups', 'department'],
        sign_request: false,
        header_attributes: [],
      };
    case 'github':
      return { client_id: clientId };
    default:
      // The one-time PIN provider takes no configuration; the API returns an empty object.
      return {};
  }
}

function identityProviders(org: Organisation, seed: number): Json[] {
  return org.identityProviders.map((idp) => {
    const scim = idp.type === 'okta' || idp.type === 'azureAD';
    return {
      id: idp.id,
      name: idp.name,
      type: idp.type,
      config: identityProviderConfig(idp, seed),
      scim_config: {
        enabled: scim,
        user_deprovision: scim,
        seat_deprovision: false,
        group_member_deprovision: false,
      },
    };
  });
}

function groups(org: Organisation, seed: number): Json[] {
  const idpId = (type: string): string => org.identityProviders.find((p) => p.type === type)?.id ?? '';
  const definitions: readonly [string, Json[], Json[], Json[]][] = [
    ['Employees', [{ email_domain: { domain: 'example.com' } }], [], []],
    ['Engineering', [{ okta: { email: 'engineering', connection_id: idpId('okta') } }], [], []],
    ['Administrators', [{ azureAD: { id: uuid(seed, 9, 1), connection_id: idpId('azureAD') } }], [], []],
    ['Finance', [{ saml: { attribute_name: 'department', attribute_value: 'finance' } }], [], []],
    [
      'Open source maintainers',
      [{ 'github-organization': { name: 'example', connection_id: idpId('github') } }],
      [],
      [],
    ],
    [
      'Contractors',
      [{ email: { email: 'contractor.one@example.net' } }, { email: { email: 'contractor.two@example.net' } }],
      [{ geo: { country_code: 'KP' } }],
      [],
    ],
  ];
  return definitions.map(([name, include, exclude, require], i) => {
    const created = daysBefore(seed, i, 0x61, 700, EPOCH_MS - 200 * DAY_MS);
    return {
      id: uuid(seed, i, 0x60),
      name,
      include,
      exclude,
      require,
      created_at: iso(created),
      updated_at: iso(daysBefore(seed, i, 0x62, 200)),
    };
  });
}

function policies(seed: number, groupIds: readonly string[]): Json[] {
  const group = (i: number): Json => ({ group: { id: groupIds[i] ?? '' } });
  const definitions: readonly [string, string, Json[], Json[], Json[]][] = [
    ['Allow employees', 'allow', [group(0)], [group(5)], []],
    ['Allow engineering', 'allow', [group(1)], [], []],
    ['Allow administrators', 'allow', [group(2)], [], [{ geo: { country_code: 'US' } }]],
    ['Allow finance', 'allow', [group(3)], [], []],
    ['Deny everyone else', 'deny', [{ everyone: {} }], [], []],
    ['Bypass status checks', 'bypass', [{ ip: { ip: '192.0.2.0/24' } }], [], []],
  ];
  return definitions.map(([name, decision, include, exclude, require], i) => ({
    id: uuid(seed, i, 0x70),
    name,
    decision,
    include,
    exclude,
    require,
    approval_required: false,
    isolation_required: false,
    purpose_justification_required: false,
    session_duration: '24h',
    reusable: true,
    app_count: 0,
    created_at: iso(daysBefore(seed, i, 0x71, 500, EPOCH_MS - 200 * DAY_MS)),
    updated_at: iso(daysBefore(seed, i, 0x72, 200)),
  }));
}

// Which reusable policies (by index) each application attaches, most specific first.
function policyIndexes(app: SimulatedApplication): number[] {
  if (app.domain.startsWith('admin.') || app.domain.startsWith('db.')) return [2, 4];
  if (app.domain.startsWith('git.') || app.domain.startsWith('ci.') || app.domain.startsWith('ssh.')) return [1, 4];
  if (app.domain.startsWith('finance.') || app.domain.startsWith('hr.')) return [3, 4];
  if (app.domain.startsWith('status.')) return [5, 0];
  return [0];
}

function apps(org: Organisation, seed: number, reusable: Json[]): Json[] {
  const counts = new Map<number, number>();
  const rendered = org.applications.map((app, i) => {
    const attached = policyIndexes(app);
    for (const p of attached) counts.set(p, (counts.get(p) ?? 0) + 1);
    const created = daysBefore(seed, i, 0x81, 600, EPOCH_MS - 100 * DAY_MS);
    // Browser-rendered SSH is its own application type; every other application is self-hosted.
    const type = app.domain.startsWith('ssh.') ? 'ssh' : 'self_hosted';
    return {
      id: app.uid,
      aud: hex(seed, i, 0x80, 64),
      name: app.name,
      type,
      domain: app.domain,
      self_hosted_domains: [app.domain],
      allowed_idps: org.identityProviders.map((p) => p.id),
      auto_redirect_to_identity: false,
      app_launcher_visible: type === 'self_hosted',
      session_duration: '24h',
      enable_binding_cookie: false,
      http_only_cookie_attribute: true,
      options_preflight_bypass: false,
      service_auth_401_redirect: false,
      skip_interstitial: false,
      tags: [],
      // An embedded policy carries its precedence in this app instead of the reusable-only fields.
      policies: attached.map((p, precedence) => ({
        ...Object.fromEntries(
          Object.entries(reusable[p] ?? {}).filter(([key]) => key !== 'app_count' && key !== 'reusable'),
        ),
        precedence: precedence + 1,
      })),
      created_at: iso(created),
      updated_at: iso(daysBefore(seed, i, 0x82, 100)),
    };
  });
  counts.forEach((count, p) => {
    const policy = reusable[p];
    if (policy !== undefined) policy['app_count'] = count;
  });
  return rendered;
}

/** The Gateway rule that is disabled in the current inventory. */
export const DISABLED_RULE = 'Block remote desktop';

function gatewayRules(seed: number): Json[] {
  const definitions: readonly [string, string, string, string[], string, string][] = [
    [
      'Block security threats',
      'Blocks domains in Cloudflare security categories.',
      'block',
      ['dns'],
      'any(dns.security_category[*] in {68 178 80 83 176 175 117 131 134 151 153})',
      '',
    ],
    ['Block gambling', 'Acceptable use policy.', 'block', ['dns'], 'any(dns.content_category[*] in {99})', ''],
    ['Allow corporate domains', '', 'allow', ['dns'], 'any(dns.domains[*] == "example.com")', ''],
    [
      'Do not inspect banking',
      'Privacy of personal banking.',
      'off',
      ['http'],
      'any(http.request.uri.content_category[*] in {89})',
      '',
    ],
    ['Isolate newly seen domains', '', 'isolate', ['http'], 'any(http.request.uri.security_category[*] in {169})', ''],
    [
      'Block uploads to personal storage',
      'Data loss prevention.',
      'block',
      ['http'],
      'any(http.request.uri.content_category[*] in {155}) and http.request.method == "PUT"',
      'not(any(identity.groups.name[*] in {"Engineering"}))',
    ],
    ['Scan downloads', '', 'scan', ['http'], 'http.request.uri.path matches ".*\\.(exe|dmg|zip)$"', ''],
    [
      'Allow SSH to bastion',
      '',
      'allow',
      ['l4'],
      'net.dst.ip in {198.51.100.10} and net.dst.port == 22',
      'any(identity.groups.name[*] in {"Engineering"})',
    ],
    ['Block outbound SMB', '', 'block', ['l4'], 'net.dst.port in {139 445}', ''],
    ['Block remote desktop', 'Kept for incident response.', 'block', ['l4'], 'net.dst.port == 3389', ''],
  ];
  return definitions.map(([name, description, action, filters, traffic, identity], i) => ({
    id: uuid(seed, i, 0x90),
    name,
    description,
    action,
    // The remote desktop rule is the one an administrator switched off (see inventory-changes.ts).
    enabled: name !== DISABLED_RULE,
    filters,
    precedence: (i + 1) * 1000,
    traffic,
    identity,
    device_posture: '',
    rule_settings:
      action === 'block'
        ? { block_page_enabled: true, block_reason: `Blocked by policy: ${name}` }
        : action === 'isolate'
          ? { biso_admin_controls: { dcp: true, dd: true, dk: false, dp: true, du: true } }
          : {},
    created_at: iso(daysBefore(seed, i, 0x91, 400, EPOCH_MS - 100 * DAY_MS)),
    updated_at: iso(daysBefore(seed, i, 0x92, 100)),
    deleted_at: null,
  }));
}

const PLATFORMS = [
  { type: 'mac', manufacturer: 'Apple Inc.', model: 'MacBookPro18,3', os: '14.5.0', weight: 0.45 },
  { type: 'windows', manufacturer: 'Dell Inc.', model: 'Latitude 7440', os: '10.0.22631', weight: 0.3 },
  { type: 'linux', manufacturer: 'LENOVO', model: 'ThinkPad X1 Carbon Gen 11', os: '6.8.0', weight: 0.1 },
  { type: 'ios', manufacturer: 'Apple Inc.', model: 'iPhone15,2', os: '17.5.1', weight: 0.1 },
  { type: 'android', manufacturer: 'Google', model: 'Pixel 8', os: '14', weight: 0.05 },
] as const;
const CLIENT_VERSIONS = ['2024.6.415.0', '2024.8.458.0', '2024.9.346.0'] as const;

function devices(org: Organisation, seed: number): SimulatedDevice[] {
  const out: SimulatedDevice[] = [];
  org.users.forEach((user, u) => {
    // About 85% of staff run the device client; some carry a phone as well.
    if (unit(seed, u, 0xa0) >= 0.85) return;
    const count = unit(seed, u, 0xa1) < 0.3 ? 2 : 1;
    for (let d = 0; d < count; d++) {
      const key = u * 4 + d;
      let r = unit(seed, key, 0xa2);
      const platform = PLATFORMS.find((p) => (r -= p.weight) < 0) ?? PLATFORMS[0];
      const local = user.email.split('@')[0] ?? 'device';
      const created = daysBefore(seed, key, 0xa3, 500, EPOCH_MS - 30 * DAY_MS);
      const lastSeen = daysBefore(seed, key, 0xa4, 30);
      const mac = hex(seed, key, 0xa5, 12).match(/../g)?.join(':') ?? '';
      out.push({
        id: uuid(seed, key, 0xa6),
        name: `${local}-${platform.type}`,
        userId: accessUserId(seed, u),
        deviceType: platform.type,
        // Devices whose registration was revoked stay in the inventory with no active registration.
        activeRegistrations: unit(seed, key, 0xa7) < 0.08 ? 0 : 1,
        createdMs: created,
        lastSeenMs: lastSeen,
        updatedMs: Math.max(created, lastSeen - DAY_MS),
        clientVersion: CLIENT_VERSIONS[hash32(seed, key, 0xa8) % CLIENT_VERSIONS.length] ?? '2024.9.346.0',
        manufacturer: platform.manufacturer,
        model: platform.model,
        osVersion: platform.os,
        serialNumber: hex(seed, key, 0xa9, 10).toUpperCase(),
        macAddress: mac,
        publicIp: user.ips[d % user.ips.length] ?? user.ips[0] ?? '',
        key: Buffer.from(hex(seed, key, 0xaa, 64), 'hex').toString('base64'),
      });
    }
  });
  return out;
}

/** The Access user id of the organisation's user at `index`; SCIM logs and devices refer to users by it. */
export function accessUserId(seed: number, index: number): string {
  return uuid(seed, index, 0xb0);
}

/** Active registrations per Access user id. */
export function activeDeviceCounts(deviceList: readonly SimulatedDevice[]): Map<string, number> {
  const active = new Map<string, number>();
  for (const d of deviceList) if (d.activeRegistrations > 0) active.set(d.userId, (active.get(d.userId) ?? 0) + 1);
  return active;
}

function users(org: Organisation, seed: number, deviceList: readonly SimulatedDevice[]): Json[] {
  const active = activeDeviceCounts(deviceList);
  return org.users.map((user, u) => {
    const id = accessUserId(seed, u);
    const created = daysBefore(seed, u, 0xb1, 700, EPOCH_MS - 60 * DAY_MS);
    const lastLogin = daysBefore(seed, u, 0xb2, 14);
    const devicesActive = active.get(id) ?? 0;
    return {
      id,
      uid: id,
      email: user.email,
      name: user.name,
      access_seat: true,
      gateway_seat: devicesActive > 0,
      active_device_count: devicesActive,
      last_successful_login: iso(lastLogin),
      seat_uid: hex(seed, u, 0xb3, 32),
      created_at: iso(created),
      updated_at: iso(lastLogin),
    };
  });
}

/** Builds the inventory of the organisation for `seed`: same users, applications and IdPs as the access logs. */
export function buildInventory(seed: number, accountId: string, org: Organisation): Inventory {
  const deviceList = devices(org, seed);
  const groupList = groups(org, seed);
  const policyList = policies(
    seed,
    groupList.map((g) => String(g['id'])),
  );
  const appList = apps(org, seed, policyList);
  const orgCreated = EPOCH_MS - 720 * DAY_MS;
  return {
    users: users(org, seed, deviceList),
    organization: {
      name: 'Example Corp',
      auth_domain: 'example.cloudflareaccess.com',
      is_ui_read_only: false,
      allow_authenticate_via_warp: false,
      auto_redirect_to_identity: false,
      session_duration: '24h',
      user_seat_expiration_inactive_time: '730h',
      warp_auth_session_duration: '24h',
      login_design: {
        background_color: '#ffffff',
        text_color: '#1f2937',
        header_text: 'Example Corp',
        footer_text: 'Authorised use only',
        logo_path: 'https://example.com/logo.png',
      },
      custom_pages: {},
      created_at: iso(orgCreated),
      updated_at: iso(daysBefore(seed, 0, 0xc0, 90)),
    },
    identityProviders: identityProviders(org, seed),
    groups: groupList,
    policies: policyList,
    apps: appList,
    gatewayAccount: { id: accountId, gateway_tag: hex(seed, 0, 0xd0, 32), provider_name: 'Cloudflare' },
    gatewayConfiguration: {
      settings: {
        activity_log: { enabled: true },
        antivirus: {
          enabled_download_phase: true,
          enabled_upload_phase: false,
          fail_closed: false,
          notification_settings: { enabled: false, msg: '', support_url: '' },
        },
        block_page: {
          enabled: true,
          name: 'Example Corp',
          header_text: 'This site is blocked',
          footer_text: 'Contact it@example.com if this looks wrong',
          background_color: '#ffffff',
          logo_path: 'https://example.com/logo.png',
          mailto_address: 'it@example.com',
          mailto_subject: 'Blocked site',
          suppress_footer: false,
        },
        body_scanning: { inspection_mode: 'deep' },
        browser_isolation: { non_identity_enabled: false, url_browser_isolation_enabled: true },
        extended_email_matching: { enabled: true },
        fips: { tls: false },
        protocol_detection: { enabled: true },
        tls_decrypt: { enabled: true },
      },
      created_at: iso(orgCreated),
      updated_at: iso(daysBefore(seed, 1, 0xc0, 90)),
    },
    gatewayRules: gatewayRules(seed),
    devices: deviceList,
  };
}
