import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import { compileSigmaRule } from './compile-sigma-rule.js';
import type { CompiledSigmaRule } from './compile-sigma-rule.js';
import { accessEvent, auditEvent, auditV1Event, inventoryEvents, scimEvent } from './sigma-events.suite.js';
import { SigmaRuleError } from './sigma-rule-error.js';

const RULE_ID = '5f0c3a9e-1b2c-4d3e-8f40-516273849a0b';

function ruleText(detection: string, service: string | null = 'access', extra = ''): string {
  const body = detection
    .trim()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return [
    'title: Test rule',
    `id: ${RULE_ID}`,
    'logsource:',
    '  product: cloudflare',
    ...(service === null ? [] : [`  service: ${service}`]),
    'detection:',
    body,
    extra,
  ].join('\n');
}

function sigma(detection: string, service: string | null = 'access'): CompiledSigmaRule {
  return compileSigmaRule(ruleText(detection, service), { file: 'rules/test.yml' });
}

function refusal(text: string): SigmaRuleError {
  try {
    compileSigmaRule(text, { file: 'rules/test.yml' });
  } catch (error) {
    if (error instanceof SigmaRuleError) return error;
    throw error;
  }
  throw new Error('the rule was accepted');
}

function refused(detection: string, service: string | null = 'access'): SigmaRuleError {
  return refusal(ruleText(detection, service));
}

const alice = accessEvent();
const allowedBob = accessEvent({
  user_email: 'bob@example.com',
  allowed: true,
  ip_address: '198.51.100.4',
  country: 'US',
});

describe('compileSigmaRule metadata', () => {
  const rule = compileSigmaRule(
    [
      'title: Denied logins for admin accounts',
      `id: ${RULE_ID}`,
      'status: test',
      'description: An administrator was denied by Access.',
      'references:',
      '  - https://developers.cloudflare.com/cloudflare-one/',
      'tags:',
      '  - attack.initial_access',
      '  - attack.t1078.004',
      '  - attack.T1110',
      '  - cve.2024-1234',
      'falsepositives:',
      '  - Expired sessions',
      'level: high',
      'logsource:',
      '  product: cloudflare',
      '  service: access',
      '  definition: Access authentication logs',
      'detection:',
      '  selection:',
      '    user|startswith: admin',
      '  condition: selection',
      'author: Example SOC',
      'custom_field: custom fields are allowed by Sigma',
    ].join('\n'),
  );

  it('carries the id, title, description, status and references', () => {
    expect(rule.id).toBe(RULE_ID);
    expect(rule.title).toBe('Denied logins for admin accounts');
    expect(rule.description).toBe('An administrator was denied by Access.');
    expect(rule.status).toBe('test');
    expect(rule.references).toEqual(['https://developers.cloudflare.com/cloudflare-one/']);
    expect(rule.falsePositives).toEqual(['Expired sessions']);
  });

  it('maps level to severity and ATT&CK tags to techniques and tactics', () => {
    expect(rule.severity).toBe('high');
    expect(rule.techniques).toEqual(['T1078.004', 'T1110']);
    expect(rule.tactics).toEqual(['initial_access']);
    expect(rule.tags).toContain('cve.2024-1234');
  });

  it('maps the logsource to datasets and has no aggregation', () => {
    expect(rule.services).toEqual(['access']);
    expect(rule.datasets).toEqual(['access_requests']);
    expect(rule.aggregation).toBeUndefined();
  });

  it('defaults the severity to medium and the description to empty', () => {
    const plain = sigma('selection:\n  outcome: failure\ncondition: selection');
    expect(plain.severity).toBe('medium');
    expect(plain.description).toBe('');
    expect(plain.techniques).toEqual([]);
  });

  it('reads each level', () => {
    for (const level of ['informational', 'low', 'medium', 'high', 'critical']) {
      const text = ruleText('selection:\n  outcome: failure\ncondition: selection', 'access', `level: ${level}`);
      expect(compileSigmaRule(text).severity).toBe(level);
    }
  });
});

describe('logsource', () => {
  const failure = 'selection:\n  outcome: failure\ncondition: selection';
  const deniedScim = scimEvent({ status: 'FAILURE' });

  it('sees only the datasets of its service', () => {
    expect(sigma(failure, 'access').match(alice)).toBe(true);
    expect(sigma(failure, 'access').match(deniedScim)).toBe(false);
    expect(sigma(failure, 'scim').match(deniedScim)).toBe(true);
    expect(sigma(failure, 'scim').match(alice)).toBe(false);
  });

  it('sees every dataset without a service', () => {
    const rule = sigma(failure, null);
    expect(rule.datasets).toEqual(
      expect.arrayContaining(['access_requests', 'scim_updates', 'audit_logs', 'groups', 'identity_providers']),
    );
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(deniedScim)).toBe(true);
  });

  it('maps each service to its datasets', () => {
    expect(sigma(failure, 'audit').datasets).toEqual(['audit_logs']);
    expect(sigma(failure, 'inventory').datasets).toEqual([
      'access_users',
      'organization',
      'identity_providers',
      'groups',
      'gateway',
      'devices',
      'apps',
      'policies',
    ]);
  });

  it('refuses another product, a category, an unknown service and unknown keys', () => {
    const windows = refusal(
      'title: Whoami\nid: x1\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    Image: whoami.exe\n  condition: s',
    );
    expect(windows.message).toContain('Sigma rule "Whoami" (rules/test.yml)');
    expect(windows.message).toMatch(/logsource\.category \(line 5, column 3\): logsource category "process_creation"/);
    const product = refusal(
      'title: T\nid: x1\nlogsource:\n  product: okta\ndetection:\n  s:\n    user: a\n  condition: s',
    );
    expect(product.message).toContain(
      'logsource.product (line 4, column 3): logsource product "okta" is not a zerotrail log source; zerotrail evaluates rules for "product: cloudflare"',
    );
    expect(product.details.feature).toBe('logsource product okta');
    expect(refused(failure, 'gateway_dns').message).toContain(
      'logsource service "gateway_dns" is not a zerotrail log source; use one of access, scim, audit, inventory',
    );
    const noProduct = refusal(
      'title: T\nid: x1\nlogsource:\n  service: access\ndetection:\n  s:\n    user: a\n  condition: s',
    );
    expect(noProduct.message).toContain('logsource has no product');
    const extra = refusal(
      'title: T\nid: x1\nlogsource:\n  product: cloudflare\n  version: 2\ndetection:\n  s:\n    user: a\n  condition: s',
    );
    expect(extra.message).toContain('logsource.version (line 5, column 3): logsource.version is not supported');
  });
});

describe('selections', () => {
  it('ANDs the fields of a map', () => {
    const rule = sigma('selection:\n  outcome: failure\n  country: DE\ncondition: selection');
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(accessEvent({ country: 'FR' }))).toBe(false);
    expect(rule.match(accessEvent({ allowed: true }))).toBe(false);
  });

  it('ORs the maps of a list', () => {
    const rule = sigma('selection:\n  - country: FR\n  - user: alice@example.com\ncondition: selection');
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(accessEvent({ country: 'FR', user_email: 'carol@example.com' }))).toBe(true);
    expect(rule.match(allowedBob)).toBe(false);
  });

  it('ORs a list of values', () => {
    const rule = sigma("selection:\n  country:\n    - FR\n    - DE\n    - 'NL'\ncondition: selection");
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(accessEvent({ country: 'NL' }))).toBe(true);
    expect(rule.match(allowedBob)).toBe(false);
  });

  it('compares plain values as whole, case-insensitive strings', () => {
    const rule = sigma('selection:\n  user: ALICE@example.COM\ncondition: selection');
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(accessEvent({ user_email: 'alice@example.com.evil' }))).toBe(false);
    expect(rule.match(accessEvent({ user_email: 'malice@example.com' }))).toBe(false);
  });

  it('compares numbers and booleans by their written form', () => {
    expect(sigma('s:\n  class_uid: 3002\ncondition: s').match(alice)).toBe(true);
    expect(sigma("s:\n  class_uid: '3002'\ncondition: s").match(alice)).toBe(true);
    expect(sigma('s:\n  class_uid: 3007\ncondition: s').match(alice)).toBe(false);
    expect(sigma('s:\n  raw.allowed: false\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  raw.allowed: true\ncondition: s').match(alice)).toBe(false);
    expect(sigma('s:\n  is_remote: true\ncondition: s').match(alice)).toBe(true);
  });

  it('keeps a number as written, not as YAML reads it', () => {
    // YAML 1.2 reads 0x1 as 1; Sigma compares the text.
    const rule = sigma('s:\n  raw.ray_id: 0x1\ncondition: s');
    expect(rule.match(accessEvent({ ray_id: '0x1' }))).toBe(true);
    expect(rule.match(accessEvent({ ray_id: '1' }))).toBe(false);
  });

  it('matches an empty string only against an empty value', () => {
    const rule = sigma("s:\n  raw.error_description: ''\ncondition: s", 'scim');
    expect(rule.match(scimEvent())).toBe(true);
    expect(rule.match(scimEvent({ error_description: 'Conflict' }))).toBe(false);
  });

  it('matches null against an absent or null field', () => {
    const rule = sigma('s:\n  country: null\ncondition: s');
    expect(rule.match(alice)).toBe(false);
    expect(rule.match(accessEvent({ country: undefined }))).toBe(true);
    const path = sigma('s:\n  src_endpoint.location.country: null\ncondition: s');
    expect(path.match(accessEvent({ country: undefined }))).toBe(true);
    expect(path.match(alice)).toBe(false);
    const orNull = sigma('s:\n  country:\n    - null\n    - DE\ncondition: s');
    expect(orNull.match(alice)).toBe(true);
    expect(orNull.match(accessEvent({ country: undefined }))).toBe(true);
    expect(orNull.match(accessEvent({ country: 'FR' }))).toBe(false);
  });

  it('expresses "not null" as a negated null selection', () => {
    const rule = sigma('selection:\n  outcome: failure\nfilter:\n  country: null\ncondition: selection and not filter');
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(accessEvent({ country: undefined }))).toBe(false);
  });
});

describe('wildcards in plain values', () => {
  it('reads * as any run of characters and ? as one character', () => {
    const star = sigma("s:\n  user: '*@example.com'\ncondition: s");
    expect(star.match(alice)).toBe(true);
    expect(star.match(accessEvent({ user_email: 'alice@example.org' }))).toBe(false);
    const middle = sigma("s:\n  user: 'a*e@*.com'\ncondition: s");
    expect(middle.match(alice)).toBe(true);
    const one = sigma("s:\n  country: 'D?'\ncondition: s");
    expect(one.match(alice)).toBe(true);
    expect(one.match(accessEvent({ country: 'FR' }))).toBe(false);
    const exactLength = sigma("s:\n  user: '?lice@example.com'\ncondition: s");
    expect(exactLength.match(alice)).toBe(true);
    expect(exactLength.match(accessEvent({ user_email: 'lice@example.com' }))).toBe(false);
  });

  it('treats escaped wildcards and backslashes as Sigma defines', () => {
    const literalStar = sigma(String.raw`s:
  raw.ray_id: 'a\*b'
condition: s`);
    expect(literalStar.match(accessEvent({ ray_id: 'a*b' }))).toBe(true);
    expect(literalStar.match(accessEvent({ ray_id: 'axxb' }))).toBe(false);
    const literalQuestion = sigma(String.raw`s:
  raw.ray_id: 'a\?'
condition: s`);
    expect(literalQuestion.match(accessEvent({ ray_id: 'a?' }))).toBe(true);
    expect(literalQuestion.match(accessEvent({ ray_id: 'ab' }))).toBe(false);
    const backslashThenWildcard = sigma(String.raw`s:
  raw.ray_id: 'a\\*'
condition: s`);
    expect(backslashThenWildcard.match(accessEvent({ ray_id: 'a\\anything' }))).toBe(true);
    expect(backslashThenWildcard.match(accessEvent({ ray_id: 'a*' }))).toBe(false);
    const plainBackslash = sigma(String.raw`s:
  raw.ray_id: 'C:\Windows'
condition: s`);
    expect(plainBackslash.match(accessEvent({ ray_id: 'C:\\Windows' }))).toBe(true);
  });

  it('folds case beyond ASCII', () => {
    const rule = sigma("s:\n  user: 'JOSÉ@example.com'\ncondition: s");
    expect(rule.match(accessEvent({ user_email: 'josé@example.com' }))).toBe(true);
    expect(rule.match(accessEvent({ user_email: 'jose@example.com' }))).toBe(false);
    expect(
      sigma("s:\n  user|contains: 'SÉ@'\ncondition: s").match(accessEvent({ user_email: 'josé@example.com' })),
    ).toBe(true);
  });

  it('matches regular-expression characters literally', () => {
    const rule = sigma("s:\n  app: 'wiki.example.com'\ncondition: s");
    expect(rule.match(accessEvent({ app_domain: 'wikiXexample.com' }))).toBe(false);
    const brackets = sigma("s:\n  raw.ray_id: '(a|b)+[c]-{d}^$'\ncondition: s");
    expect(brackets.match(accessEvent({ ray_id: '(a|b)+[c]-{d}^$' }))).toBe(true);
    expect(brackets.match(accessEvent({ ray_id: 'a' }))).toBe(false);
  });
});

describe('modifiers', () => {
  it('contains', () => {
    const rule = sigma('s:\n  user|contains: ICE@\ncondition: s');
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(allowedBob)).toBe(false);
    expect(sigma("s:\n  user|contains: 'a*@'\ncondition: s").match(alice)).toBe(true);
  });

  it('startswith and endswith', () => {
    expect(sigma('s:\n  user|startswith: alice\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  user|startswith: example\ncondition: s').match(alice)).toBe(false);
    expect(sigma("s:\n  user|endswith: '@EXAMPLE.com'\ncondition: s").match(alice)).toBe(true);
    expect(sigma('s:\n  user|endswith: alice\ncondition: s').match(alice)).toBe(false);
  });

  it('keeps a trailing backslash literal before the wildcard endswith adds', () => {
    const rule = sigma(String.raw`s:
  raw.ray_id|startswith: 'C:\'
condition: s`);
    expect(rule.match(accessEvent({ ray_id: 'C:\\Users' }))).toBe(true);
    expect(rule.match(accessEvent({ ray_id: 'C:Users' }))).toBe(false);
  });

  it('all ANDs a list of values', () => {
    const rule = sigma('s:\n  user|contains|all:\n    - alice\n    - example\ncondition: s');
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(accessEvent({ user_email: 'alice@other.org' }))).toBe(false);
    const reversed = sigma('s:\n  user|all|contains:\n    - alice\n    - example\ncondition: s');
    expect(reversed.match(alice)).toBe(true);
    expect(reversed.match(accessEvent({ user_email: 'bob@example.com' }))).toBe(false);
  });

  it('all over a list-valued field needs every value somewhere in the list', () => {
    const rule = sigma('s:\n  metadata.labels|all:\n    - source:cf-main\n    - source:*\ncondition: s');
    expect(rule.match(alice)).toBe(true);
    const missing = sigma('s:\n  metadata.labels|all:\n    - source:cf-main\n    - source:other\ncondition: s');
    expect(missing.match(alice)).toBe(false);
  });

  it('re searches a case-sensitive regular expression', () => {
    const rule = sigma("s:\n  user|re: '^a[a-z]+@example\\.com$'\ncondition: s");
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(allowedBob)).toBe(false);
    expect(sigma("s:\n  user|re: 'lic'\ncondition: s").match(alice)).toBe(true);
    expect(sigma("s:\n  raw.user_email|re: 'alice'\ncondition: s").match(alice)).toBe(false);
    expect(sigma("s:\n  raw.user_email|re|i: 'alice'\ncondition: s").match(alice)).toBe(true);
  });

  it('re sub-modifiers m and s', () => {
    const multiline = scimEvent({ error_description: 'first\nsecond' });
    expect(sigma("s:\n  status_detail|re: '^second'\ncondition: s", 'scim').match(multiline)).toBe(false);
    expect(sigma("s:\n  status_detail|re|m: '^second'\ncondition: s", 'scim').match(multiline)).toBe(true);
    expect(sigma("s:\n  status_detail|re: 'first.second'\ncondition: s", 'scim').match(multiline)).toBe(false);
    expect(sigma("s:\n  status_detail|re|s: 'first.second'\ncondition: s", 'scim').match(multiline)).toBe(true);
  });

  it('re does not read * or ? as Sigma wildcards', () => {
    expect(sigma("s:\n  user|re: 'alic?e'\ncondition: s").match(alice)).toBe(true);
    expect(sigma("s:\n  user|re: 'x*alice'\ncondition: s").match(alice)).toBe(true);
  });

  it('cidr matches IPv4 and IPv6 blocks', () => {
    const v4 = sigma('s:\n  src_ip|cidr: 203.0.113.0/24\ncondition: s');
    expect(v4.match(alice)).toBe(true);
    expect(v4.match(accessEvent({ ip_address: '203.0.114.7' }))).toBe(false);
    expect(sigma('s:\n  src_ip|cidr: 203.0.113.0/25\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  src_ip|cidr: 203.0.113.128/25\ncondition: s').match(alice)).toBe(false);
    expect(sigma('s:\n  src_ip|cidr: 0.0.0.0/0\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  src_ip|cidr: 203.0.113.7\ncondition: s').match(alice)).toBe(true);
    const v6 = sigma("s:\n  src_ip|cidr: '2001:db8::/32'\ncondition: s");
    expect(v6.match(accessEvent({ ip_address: '2001:db8:1::5' }))).toBe(true);
    expect(v6.match(accessEvent({ ip_address: '2001:db9::5' }))).toBe(false);
    expect(v6.match(alice)).toBe(false);
    const list = sigma(
      "s:\n  src_ip|cidr:\n    - 10.0.0.0/8\n    - '2001:db8::/32'\n    - 203.0.113.0/28\ncondition: s",
    );
    expect(list.match(alice)).toBe(true);
    expect(list.match(allowedBob)).toBe(false);
  });

  it('cidr never matches a field without an address', () => {
    expect(sigma('s:\n  src_ip|cidr: 0.0.0.0/0\ncondition: s').match(accessEvent({ ip_address: undefined }))).toBe(
      false,
    );
    expect(sigma('s:\n  user|cidr: 0.0.0.0/0\ncondition: s').match(alice)).toBe(false);
  });

  it('cased compares with case', () => {
    expect(sigma('s:\n  raw.user_email|cased: Alice@Example.com\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  raw.user_email|cased: alice@example.com\ncondition: s').match(alice)).toBe(false);
    expect(sigma('s:\n  raw.user_email|contains|cased: Example\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  raw.user_email|contains|cased: EXAMPLE\ncondition: s').match(alice)).toBe(false);
  });

  it('exists tests presence; a flat field with no value is absent', () => {
    expect(sigma('s:\n  country|exists: true\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  country|exists: true\ncondition: s').match(accessEvent({ country: undefined }))).toBe(false);
    expect(sigma('s:\n  country|exists: false\ncondition: s').match(accessEvent({ country: undefined }))).toBe(true);
    expect(sigma('s:\n  raw.country|exists: true\ncondition: s').match(accessEvent({ country: null }))).toBe(true);
    expect(sigma('s:\n  raw.country|exists: true\ncondition: s').match(accessEvent({ country: undefined }))).toBe(
      false,
    );
  });
});

describe('fields', () => {
  it('reads the search language names and its aliases', () => {
    const cases: [string, string][] = [
      ['user', 'alice@example.com'],
      ['email', 'alice@example.com'],
      ['user.email_addr', 'alice@example.com'],
      ['src_ip', '203.0.113.7'],
      ['ip', '203.0.113.7'],
      ['src_endpoint.ip', '203.0.113.7'],
      ['country', 'DE'],
      ['country.code', 'DE'],
      ['app', 'wiki.example.com'],
      ['app_domain', 'wiki.example.com'],
      ['app_uid', '6f0a5b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b'],
      ['idp', 'okta'],
      ['connection', 'okta'],
      ['outcome', 'failure'],
      ['status', 'failure'],
      ['activity', 'logon'],
      ['action', 'logon'],
      ['ray_id', '8e1f2a3b4c5d6e7f'],
      ['dataset', 'access_requests'],
      ['source', 'cf-main'],
      ['account_id', '0123456789abcdef0123456789abcdef'],
      ['class_uid', '3002'],
    ];
    for (const [field, value] of cases) {
      expect(sigma(`s:\n  ${field}: '${value}'\ncondition: s`).match(alice), field).toBe(true);
      expect(sigma(`s:\n  ${field}: 'zz-${value}'\ncondition: s`).match(alice), field).toBe(false);
    }
  });

  it('reads OCSF paths of each dataset', () => {
    expect(sigma('s:\n  src_endpoint.location.country: DE\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  dst_endpoint.hostname: wiki.example.com\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  auth_protocol: okta\ncondition: s').match(alice)).toBe(true);
    expect(sigma('s:\n  metadata.event_code: login\ncondition: s').match(alice)).toBe(true);
    const deactivated = scimEvent();
    expect(sigma('s:\n  activity_name: Disable\ncondition: s', 'scim').match(deactivated)).toBe(true);
    expect(sigma('s:\n  user.uid_alt: 00u1abcd2EFGH3ijk4l5\ncondition: s', 'scim').match(deactivated)).toBe(true);
    expect(
      sigma('s:\n  actor.idp.uid: 3f1c2b4a-5d6e-4f70-8a91-b2c3d4e5f601\ncondition: s', 'scim').match(deactivated),
    ).toBe(true);
    const token = auditEvent();
    expect(sigma("s:\n  api.operation: 'Create API token'\ncondition: s", 'audit').match(token)).toBe(true);
    expect(sigma('s:\n  resources.type: api_token\ncondition: s', 'audit').match(token)).toBe(true);
    expect(sigma('s:\n  http_request.http_method: POST\ncondition: s', 'audit').match(token)).toBe(true);
    expect(sigma('s:\n  http_response.code: 200\ncondition: s', 'audit').match(token)).toBe(true);
    expect(sigma('s:\n  actor.user.email_addr: michelle@example.com\ncondition: s', 'audit').match(token)).toBe(true);
    expect(
      sigma('s:\n  metadata.event_code: token_create\ncondition: s', 'audit').match(auditV1Event('token_create')),
    ).toBe(true);
  });

  it('crosses lists on the way to a value', () => {
    const rule = sigma('s:\n  resources.uid: 5b6c7d8e-9f00-4112-8233-445566778899\ncondition: s', 'audit');
    expect(rule.match(auditEvent())).toBe(true);
    expect(rule.match(auditEvent({ resource: { id: 'other', type: 'api_token' } }))).toBe(false);
  });

  it('reads inventory change events and their attributes', () => {
    const before = [
      {
        kind: 'identity_provider' as const,
        id: 'idp-1',
        name: 'Okta',
        attributes: { type: 'okta', config: { client_id: 'a' } },
      },
    ];
    const after = [
      {
        kind: 'identity_provider' as const,
        id: 'idp-1',
        name: 'Okta',
        attributes: { type: 'okta', config: { client_id: 'b' } },
      },
      { kind: 'identity_provider' as const, id: 'idp-2', name: 'One-time PIN', attributes: { type: 'onetimepin' } },
    ];
    const [changed, added] = inventoryEvents('identity_providers', before, after) as [NormalizedEvent, NormalizedEvent];
    const created = sigma(
      "s:\n  dataset: identity_providers\n  activity: create\n  entity.type: 'Identity provider'\ncondition: s",
      'inventory',
    );
    expect(created.match(added)).toBe(true);
    expect(created.match(changed)).toBe(false);
    expect(sigma('s:\n  entity.data.type: onetimepin\ncondition: s', 'inventory').match(added)).toBe(true);
    expect(sigma('s:\n  updated_entity.data.config.client_id: b\ncondition: s', 'inventory').match(changed)).toBe(true);
    expect(sigma('s:\n  raw.after.config.client_id: b\ncondition: s', 'inventory').match(changed)).toBe(true);
    expect(sigma('s:\n  raw.before.config.client_id: a\ncondition: s', 'inventory').match(changed)).toBe(true);
  });

  it('refuses an unknown field, and suggests the right case', () => {
    const unknown = refused('s:\n  CommandLine|contains: whoami\ncondition: s');
    expect(unknown.message).toBe(
      'Sigma rule "Test rule" (rules/test.yml): detection.s.CommandLine|contains (line 8, column 5): zerotrail events have no field "CommandLine"; docs/sigma.md lists the fields a rule can use',
    );
    expect(unknown.details.feature).toBe('field CommandLine');
    expect(refused('s:\n  User: alice\ncondition: s').message).toContain(
      'zerotrail events have no field "User"; did you mean "user"? Field names are case-sensitive',
    );
    expect(refused('s:\n  time: 1\ncondition: s').message).toContain('no field "time"');
    expect(refused('s:\n  raw.: 1\ncondition: s').message).toContain('no field "raw."');
    expect(refused('s:\n  raw.a..b: 1\ncondition: s').message).toContain('no field "raw.a..b"');
  });

  it('refuses a field the service never sets', () => {
    expect(refused('s:\n  country: DE\ncondition: s', 'scim').message).toContain(
      'detection.s.country (line 8, column 5): the field "country" never appears in events of service scim; it is set on access events',
    );
    expect(refused('s:\n  api.operation: x\ncondition: s', 'access').message).toContain(
      'the field "api.operation" never appears in events of service access',
    );
    expect(() => sigma('s:\n  api.operation: x\ncondition: s', null)).not.toThrow();
  });
});

describe('conditions', () => {
  const detection = [
    'denied:',
    '  outcome: failure',
    'german:',
    '  country: DE',
    'selection_admin:',
    '  user|startswith: admin',
    'selection_alice:',
    '  user|startswith: alice',
    '_helper:',
    '  idp: okta',
  ].join('\n');
  const rule = (condition: string): CompiledSigmaRule => sigma(`${detection}\ncondition: ${condition}`);
  const frenchAlice = accessEvent({ country: 'FR' });
  const allowedAlice = accessEvent({ allowed: true });

  it('and, or, not', () => {
    expect(rule('denied and german').match(alice)).toBe(true);
    expect(rule('denied and german').match(frenchAlice)).toBe(false);
    expect(rule('denied or german').match(allowedAlice)).toBe(true);
    expect(rule('denied or german').match(allowedBob)).toBe(false);
    expect(rule('not german').match(frenchAlice)).toBe(true);
    expect(rule('not german').match(alice)).toBe(false);
    expect(rule('not not german').match(alice)).toBe(true);
    expect(rule('denied and not german').match(frenchAlice)).toBe(true);
  });

  it('binds and tighter than or, not tighter than and', () => {
    // denied or (german and selection_admin)
    expect(rule('denied or german and selection_admin').match(accessEvent({ country: 'FR' }))).toBe(true);
    expect(rule('denied or german and selection_admin').match(accessEvent({ allowed: true }))).toBe(false);
    // (not denied) and german
    expect(rule('not denied and german').match(allowedAlice)).toBe(true);
    expect(rule('not denied and german').match(accessEvent({ allowed: true, country: 'FR' }))).toBe(false);
  });

  it('parentheses', () => {
    expect(rule('(denied or german) and selection_admin').match(alice)).toBe(false);
    expect(rule('(denied or german) and selection_alice').match(allowedAlice)).toBe(true);
    expect(rule('not (denied and german)').match(alice)).toBe(false);
    expect(rule('not (denied and german)').match(frenchAlice)).toBe(true);
    expect(rule('((denied))').match(alice)).toBe(true);
  });

  it('1 of and all of a pattern', () => {
    expect(rule('1 of selection_*').match(alice)).toBe(true);
    expect(rule('1 of selection_*').match(allowedBob)).toBe(false);
    expect(rule('all of selection_*').match(alice)).toBe(false);
    expect(rule('any of selection_*').match(alice)).toBe(true);
    expect(rule('all of *an').match(alice)).toBe(true);
    expect(rule('all of *an').match(frenchAlice)).toBe(false);
    expect(rule('denied and not 1 of selection_*').match(alice)).toBe(false);
    expect(rule('denied and not 1 of selection_*').match(accessEvent({ user_email: 'carol@example.com' }))).toBe(true);
  });

  it('1 of them and all of them leave out identifiers starting with _', () => {
    expect(rule('1 of them').match(allowedBob)).toBe(false);
    expect(
      rule('1 of them').match(accessEvent({ allowed: true, connection: 'okta', user_email: 'x@y.z', country: 'FR' })),
    ).toBe(false);
    expect(rule('1 of them').match(frenchAlice)).toBe(true);
    expect(
      sigma('a:\n  outcome: failure\nb:\n  country: DE\n_c:\n  country: FR\ncondition: all of them').match(alice),
    ).toBe(true);
  });

  it('keywords are case-insensitive', () => {
    expect(rule('denied AND NOT german').match(frenchAlice)).toBe(true);
    expect(rule('1 OF selection_* Or german').match(alice)).toBe(true);
  });

  it('ORs a list of conditions', () => {
    const list = sigma(`${detection}\ncondition:\n  - german\n  - selection_admin`);
    expect(list.match(alice)).toBe(true);
    expect(list.match(frenchAlice)).toBe(false);
  });

  it('refuses an undefined identifier, with its column', () => {
    const error = refused('selection:\n  outcome: failure\ncondition: selection and filter');
    expect(error.message).toBe(
      'Sigma rule "Test rule" (rules/test.yml): detection.condition (line 9, column 28): the condition names "filter", which detection does not define (in "selection and filter")',
    );
  });

  it('points into a quoted condition at the right column', () => {
    expect(refused("selection:\n  outcome: failure\ncondition: 'selection and filter'").message).toContain(
      'detection.condition (line 9, column 29): the condition names "filter"',
    );
  });

  it('refuses a pattern that matches nothing', () => {
    expect(refused('selection:\n  outcome: failure\ncondition: 1 of filter*').message).toContain(
      '"1 of filter*" matches no search identifier of detection',
    );
  });

  it('refuses all of a list identifier without a wildcard as ambiguous', () => {
    const error = refused('selection:\n  - outcome: failure\n  - country: DE\ncondition: all of selection');
    expect(error.message).toContain('"all of selection" is ambiguous');
    expect(error.details.feature).toBe('all of selection');
    expect(
      sigma('selection:\n  - outcome: failure\n  - country: DE\ncondition: 1 of selection').match(allowedBob),
    ).toBe(false);
    expect(sigma('selection:\n  outcome: failure\n  country: DE\ncondition: all of selection').match(alice)).toBe(true);
  });

  it('refuses near, other quantities and broken syntax', () => {
    const base = 'a:\n  outcome: failure\nb:\n  country: DE\ncondition: ';
    expect(refused(`${base}a | near b`).details.feature).toBe('near');
    expect(refused(`${base}near a and b`).message).toContain('"near" (temporal proximity) is not supported');
    expect(refused(`${base}2 of them`).message).toContain('"2 of" is not supported; use "1 of" or "all of"');
    expect(refused(`${base}a and`).message).toContain('the condition ends after "and"');
    expect(refused(`${base}a b`).message).toContain('expected "and", "or" or the end of the condition before "b"');
    expect(refused(`${base}(a or b`).message).toContain('is not closed');
    expect(refused(`${base}a or b)`).message).toContain('this ")" has no matching "("');
    expect(refused(`${base}a*`).message).toContain('"a*" is a pattern; write "1 of a*" or "all of a*"');
    expect(refused(`${base}1 of`).message).toContain('needs a search identifier pattern or "them"');
    expect(refused(`${base}a and or b`).message).toContain('expected a search identifier, found "or"');
    expect(refused("a:\n  outcome: failure\ncondition: ''").message).toContain('the condition is empty');
  });

  it('refuses a detection without condition or with a bad one', () => {
    expect(refused('a:\n  outcome: failure').message).toContain('detection has no condition');
    expect(refused('a:\n  outcome: failure\ncondition:\n  x: y').message).toContain(
      'condition must be text or a list of text',
    );
    expect(refused('a:\n  outcome: failure\ncondition: []').message).toContain('the condition list is empty');
  });
});

describe('aggregations', () => {
  it('reads count() by a field with a timeframe', () => {
    const rule = sigma('selection:\n  outcome: failure\ncondition: selection | count() by src_ip > 20\ntimeframe: 10m');
    expect(rule.aggregation).toEqual({ groupBy: ['src_ip'], operator: '>', threshold: 20, timeframeMs: 600_000 });
    expect(rule.match(alice)).toBe(true);
    expect(rule.match(allowedBob)).toBe(false);
  });

  it('reads a distinct count, several group fields and each comparison', () => {
    const rule = sigma('s:\n  outcome: failure\ncondition: s | count(user) by src_ip, app >= 5\ntimeframe: 1h');
    expect(rule.aggregation).toEqual({
      groupBy: ['src_ip', 'app'],
      distinctField: 'user',
      operator: '>=',
      threshold: 5,
      timeframeMs: 3_600_000,
    });
    const cases: [string, string][] = [
      ['>', '>'],
      ['>=', '>='],
      ['<', '<'],
      ['<=', '<='],
      ['==', '=='],
      ['=', '=='],
    ];
    for (const [written, operator] of cases) {
      const compiled = sigma(`s:\n  outcome: failure\ncondition: s | count() ${written} 3\ntimeframe: 30s`);
      expect(compiled.aggregation?.operator).toBe(operator);
      expect(compiled.aggregation?.groupBy).toEqual([]);
      expect(compiled.aggregation?.timeframeMs).toBe(30_000);
    }
  });

  it('resolves aliases in group fields', () => {
    const rule = sigma('s:\n  outcome: failure\ncondition: s | count(email) by ip > 2\ntimeframe: 1d');
    expect(rule.aggregation).toMatchObject({ groupBy: ['src_ip'], distinctField: 'user', timeframeMs: 86_400_000 });
  });

  it('gives field values as text for grouping', () => {
    const rule = sigma('s:\n  outcome: failure\ncondition: s | count() by src_ip > 2\ntimeframe: 5m');
    expect(rule.fieldText(alice, 'src_ip')).toBe('203.0.113.7');
    expect(rule.fieldText(accessEvent({ ip_address: undefined }), 'src_ip')).toBeNull();
    expect(rule.fieldText(alice, 'class_uid')).toBe('3002');
    expect(rule.fieldText(alice, 'metadata.labels')).toBe('source:cf-main');
    expect(() => rule.fieldText(alice, 'nope')).toThrow('no field "nope"');
  });

  it('refuses other functions, missing or extra timeframes and bad syntax', () => {
    const base = 's:\n  outcome: failure\ncondition: ';
    expect(refused(`${base}s | max(user) by src_ip > 2\ntimeframe: 5m`).message).toContain(
      'the aggregation function "max" is not supported; only count() is',
    );
    expect(refused(`${base}s | count() by src_ip > 2`).message).toContain(
      'an aggregation needs detection.timeframe (e.g. timeframe: 10m)',
    );
    expect(refused(`${base}s\ntimeframe: 5m`).message).toContain('timeframe only applies to an aggregation');
    expect(refused(`${base}s | count() by src_ip > 2\ntimeframe: 5 minutes`).message).toContain(
      'timeframe "5 minutes" is not a number followed by s, m, h or d',
    );
    expect(refused(`${base}s | count() by src_ip > 2\ntimeframe: 1M`).message).toContain('timeframe "1M"');
    expect(refused(`${base}s | count() by src_ip > 2\ntimeframe: 181d`).message).toContain('at most 180d');
    expect(refused(`${base}s | count() by src_ip\ntimeframe: 5m`).message).toContain('expected a comparison');
    expect(refused(`${base}s | count() by src_ip != 2\ntimeframe: 5m`).message).toContain('"!=" is not supported');
    expect(refused(`${base}s | count(a, b) > 2\ntimeframe: 5m`).message).toContain('count() takes at most one field');
    expect(refused(`${base}s | count() by src_ip > 2 | count() > 1\ntimeframe: 5m`).message).toContain(
      'only one aggregation',
    );
    expect(refused(`${base}'| count() > 2'\ntimeframe: 5m`).message).toContain('needs a search expression before "|"');
    expect(refused(`${base}s | count() by nope > 2\ntimeframe: 5m`).message).toContain('no field "nope"');
    expect(refused(`${base}s | count() > x\ntimeframe: 5m`).message).toContain('expected a whole number after ">"');
  });

  it('refuses an aggregation in a list of conditions', () => {
    expect(refused('s:\n  outcome: failure\ncondition:\n  - s\n  - s | count() > 2\ntimeframe: 5m').message).toContain(
      'an aggregation must be the only condition',
    );
  });

  it('points at the field of the aggregation that is refused', () => {
    const error = refused('s:\n  outcome: failure\ncondition: s | count() by country > 2\ntimeframe: 5m', 'scim');
    expect(error.message).toContain('detection.condition (line 9, column 29): the field "country" never appears');
  });
});

describe('refusals of unsupported or malformed rules', () => {
  it('refuses each unsupported modifier by name', () => {
    for (const modifier of [
      'base64',
      'base64offset',
      'utf16le',
      'wide',
      'windash',
      'gt',
      'lt',
      'neq',
      'fieldref',
      'expand',
    ]) {
      const error = refused(`s:\n  user|${modifier}: x\ncondition: s`);
      expect(error.message).toContain(
        `detection.s.user|${modifier} (line 8, column 5): the modifier "${modifier}" is not supported`,
      );
      expect(error.details.feature).toBe(`modifier ${modifier}`);
      expect(error.details.rule).toBe('Test rule');
      expect(error.details.place).toEqual({ path: ['detection', 's', `user|${modifier}`], line: 8, column: 5 });
    }
    expect(refused('s:\n  user|contains|base64offset: x\ncondition: s').details.feature).toBe('modifier base64offset');
    expect(refused('s:\n  user|frobnicate: x\ncondition: s').message).toContain('"frobnicate" is not a Sigma modifier');
  });

  it('refuses modifiers that cannot go together', () => {
    expect(refused('s:\n  user|contains|startswith: x\ncondition: s').message).toContain(
      'the modifiers "contains" and "startswith" cannot be combined',
    );
    expect(refused('s:\n  user|re|cased: x\ncondition: s').message).toContain('"cased" cannot be combined with "re"');
    expect(refused('s:\n  user|i: x\ncondition: s').message).toContain('sub-modifier of "re"');
    expect(refused('s:\n  user|contains: x\n  user|exists|all: [true, false]\ncondition: s').message).toContain(
      '"exists" cannot be combined',
    );
    expect(refused('s:\n  user|exists: yes\ncondition: s').message).toContain('"user|exists" takes true or false');
    expect(refused('s:\n  user||contains: x\ncondition: s').message).toContain('empty modifier');
  });

  it('refuses all on a single value, null with a modifier, and bad values', () => {
    expect(refused('s:\n  user|contains|all: x\ncondition: s').message).toContain(
      'the modifier "all" needs a list of two or more values',
    );
    expect(refused('s:\n  user|contains: null\ncondition: s').message).toContain(
      'null cannot be combined with the modifier "contains"',
    );
    expect(refused('s:\n  user|all:\n    - a\n    - null\ncondition: s').message).toContain(
      'null cannot be one of the values of "all"',
    );
    expect(refused('s:\n  user: []\ncondition: s').message).toContain('empty list of values');
    expect(refused('s:\n  user:\n    a: b\ncondition: s').message).toContain(
      'a field value must be text, a number, a boolean or null, not a map',
    );
    expect(refused('s:\n  user:\n    - [a]\ncondition: s').message).toContain('not a nested list');
  });

  it('refuses invalid regular expressions and CIDR blocks, naming the value', () => {
    const re = refused("s:\n  user|re: '(unclosed'\ncondition: s");
    expect(re.message).toContain(
      'detection.s.user|re (line 8, column 15): "(unclosed" is not a valid regular expression',
    );
    expect(refused("s:\n  user|re: '(?i)alice'\ncondition: s").message).toContain('use the sub-modifiers re|i');
    expect(refused("s:\n  user|re: '^(?!admin)'\ncondition: s").message).toContain(
      "uses a lookaround, which Sigma's regular expression flavour does not have",
    );
    expect(refused("s:\n  user|re: '(?<=a)b'\ncondition: s").message).toContain('uses a lookaround');
    expect(refused("s:\n  user|re: '(a)\\1'\ncondition: s").message).toContain('uses a backreference');
    expect(refused("s:\n  user|re: '(?<n>a)'\ncondition: s").message).toContain('uses a named group');
    expect(refused("s:\n  user|re: '(?P<n>a)'\ncondition: s").message).toContain('uses a named group');
    expect(sigma("s:\n  user|re: '^(?:al|bo)[a-z\\d]+@\\w+\\.com$'\ncondition: s").match(alice)).toBe(true);
    expect(sigma("s:\n  user|re: '[\\1(?=]'\ncondition: s").match(alice)).toBe(false);
    expect(refused('s:\n  src_ip|cidr: 203.0.113.0/33\ncondition: s').message).toContain(
      '"203.0.113.0/33" is not a CIDR block',
    );
    expect(refused('s:\n  src_ip|cidr: not-an-ip\ncondition: s').message).toContain('"not-an-ip" is not a CIDR block');
    expect(refused('s:\n  src_ip|cidr: 42\ncondition: s').message).toContain('"42" is not a CIDR block');
  });

  it('refuses keyword searches', () => {
    expect(refused('keywords:\n  - mimikatz\n  - evil\ncondition: keywords').message).toContain(
      '"keywords" is a list of keywords; keyword search over whole events is not supported',
    );
    expect(refused('keywords: mimikatz\ncondition: keywords').details.feature).toBe('keyword search');
    expect(refused("keywords:\n  '|all':\n    - a\n    - b\ncondition: keywords").details.feature).toBe(
      'keyword search',
    );
    expect(refused('mixed:\n  - user: a\n  - b\ncondition: mixed').message).toContain('mixes maps and plain values');
  });

  it('refuses empty or oddly named search identifiers', () => {
    expect(refused('s: []\ncondition: s').message).toContain('"s" is an empty list');
    expect(refused('s: {}\ncondition: s').message).toContain('a selection map must name at least one field');
    expect(refused('them:\n  user: a\ncondition: them').message).toContain('"them" cannot be a search identifier');
    expect(refused('"a b":\n  user: a\ncondition: s').message).toContain('"a b" cannot be a search identifier');
  });

  it('refuses correlation rules, collections, filters and custom taxonomies', () => {
    const correlation = refusal(
      'title: Many failures\nid: c1\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [user]\n  timespan: 10m\n  condition:\n    gte: 10',
    );
    expect(correlation.message).toContain(
      'Sigma rule "Many failures" (rules/test.yml): correlation (line 3, column 1): Sigma correlation rules are not supported',
    );
    expect(correlation.details.feature).toBe('correlation rule');
    const collection = refusal(`${ruleText('s:\n  user: a\ncondition: s')}\n---\ntitle: Second\n`);
    expect(collection.message).toContain('the file holds several YAML documents');
    expect(collection.details.feature).toBe('rule collection');
    expect(refusal('action: global\ntitle: T\n').details.feature).toBe('rule collection');
    expect(
      refusal('title: F\nlogsource:\n  product: cloudflare\nfilter:\n  rules: [a]\n  selection: {user: a}\n').details
        .feature,
    ).toBe('Sigma filter');
    const taxonomy = refusal(ruleText('s:\n  user: a\ncondition: s', 'access', 'taxonomy: ocsf'));
    expect(taxonomy.message).toContain('the taxonomy "ocsf" is not supported');
  });

  it('refuses missing or malformed required attributes', () => {
    expect(refusal('id: x\nlogsource: {product: cloudflare}\ndetection: {s: {user: a}, condition: s}').message).toBe(
      'Sigma rule (rules/test.yml): title: the rule has no title',
    );
    expect(
      refusal('title: T\nlogsource: {product: cloudflare}\ndetection: {s: {user: a}, condition: s}').message,
    ).toContain('id: the rule has no id; zerotrail keys alert state by the rule id');
    expect(refusal('title: T\nid: x\ndetection: {s: {user: a}, condition: s}').message).toContain(
      'the rule has no logsource',
    );
    expect(refusal('title: T\nid: x\nlogsource: {product: cloudflare}').message).toContain('the rule has no detection');
    expect(refusal(`title: ${'t'.repeat(257)}\nid: x`).message).toContain('longer than 256 characters');
    expect(refusal(ruleText('s:\n  user: a\ncondition: s', 'access', 'level: severe')).message).toContain(
      '"severe" is not a Sigma level',
    );
    expect(
      compileSigmaRule(ruleText('s:\n  user: a\ncondition: s', 'access', 'tags: attack.t1110')).techniques,
    ).toEqual(['T1110']);
    expect(refusal(ruleText('s:\n  user: a\ncondition: s', 'access', 'tags:\n  - {a: b}')).message).toContain(
      'tags must be a list of text',
    );
    expect(refusal('- a\n- b').message).toContain('a Sigma rule is a YAML map');
  });

  it('refuses YAML that does not parse, aliases and duplicate keys, with the line', () => {
    expect(refusal('title: [unclosed\n').message).toMatch(
      /^Sigma rule \(rules\/test\.yml\): the file \(line \d+, column \d+\): the YAML does not parse/,
    );
    expect(refusal(ruleText('s:\n  user: &name a\nt:\n  user: *name\ncondition: s or t')).message).toContain(
      'YAML aliases (*name) are not supported',
    );
    expect(refusal(ruleText('s:\n  user: a\n  user: b\ncondition: s')).details.feature).toBe('YAML syntax');
    expect(refusal('').message).toContain('the file holds no YAML document');
  });

  it('compiles the whole rule: an unused identifier with an unsupported feature is refused too', () => {
    expect(refused('s:\n  user: a\nunused:\n  user|base64: x\ncondition: s').details.feature).toBe('modifier base64');
  });
});

describe('SigmaRuleError', () => {
  it('is RULE_INVALID with a hint pointing at the documentation', () => {
    const error = refused('s:\n  user|base64: x\ncondition: s');
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('RULE_INVALID');
    expect(error.status).toBe(400);
    expect(error.hint).toContain('docs/sigma.md');
  });
});
