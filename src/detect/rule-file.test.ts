import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../core/event.js';
import { loadBuiltinRules } from './builtin-rules.js';
import { compileMatch } from './match.js';
import { parseRuleFile } from './rule-file.js';
import { parseAnyRuleFile } from './user-rules.js';

const VALID = `
id: my-rule
title: Mine
type: threshold
severity: high
technique: T1110.001
description: Many denials.
match: { dataset: access_requests, outcome: failure }
params: { group_by: [user], window: 10m, threshold: 3 }
summary: '{user} was denied {count} times'
`;

function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

function problems(text: string): string {
  try {
    parseRuleFile(text, 'test.yaml');
  } catch (error) {
    expect(error).toMatchObject({ code: 'RULE_INVALID' });
    return (error as Error).message;
  }
  throw new Error('the rule was accepted');
}

const event: NormalizedEvent = {
  id: 'e1',
  time: 0,
  sourceName: 'cf',
  accountId: 'a',
  dataset: 'audit_logs',
  classUid: 6003,
  activity: 'create',
  outcome: 'success',
  user: 'Admin@Example.com',
  srcIp: '203.0.113.9',
  country: 'DE',
  app: null,
  appUid: null,
  idp: null,
  rayId: null,
  ocsf: { resources: [{ type: 'zone' }, { type: 'api_token', data: { request: { enabled: false } } }] },
  raw: { action: { type: 'create' } },
};

describe('rule files', () => {
  it('accepts a valid rule and every built-in one', () => {
    expect(parseRuleFile(VALID, 'test.yaml').header).toMatchObject({ id: 'my-rule', suppressMs: 3_600_000 });
    expect(loadBuiltinRules().length).toBeGreaterThanOrEqual(9);
  });

  it('refuses lists nested thousands deep before parsing them, and shows a few YAML problems, not hundreds', () => {
    for (const parse of [parseRuleFile, parseAnyRuleFile]) {
      let message = '';
      try {
        parse(`a: ${'['.repeat(5000)}`, 'test.yaml');
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(
        'test.yaml: YAML: lists and maps nest more than 64 levels deep (at character 68); a rule needs a few',
      );
    }
    const broken = problems(`${VALID}\nmatch: [unclosed\n${'x: 1\n'.repeat(500)}`);
    expect(broken.length).toBeLessThan(1000);
    expect(broken).toMatch(/; and \d+ more YAML problems after these$/);
  });

  it('refuses unsupported features with the field and what is accepted', () => {
    expect(problems(`${VALID}\ncorrelation: { type: temporal }`)).toBe('test.yaml: unsupported field "correlation"');
    expect(problems(VALID.replace('type: threshold', 'type: markov'))).toMatch(
      /^test.yaml: type: Invalid option: expected one of "event"\|"threshold"/,
    );
    expect(problems(VALID.replace('T1110.001', 'brute'))).toContain('technique: a MITRE ATT&CK technique id');
    expect(problems(VALID.replace('outcome: failure', "'outcome|fuzzy': failure"))).toBe(
      'test.yaml: match.outcome|fuzzy: unsupported modifier "fuzzy"; supported: contains, startswith, endswith, re, cidr, exists',
    );
    expect(problems(VALID.replace('outcome: failure', 'geo: DE'))).toMatch(
      /match.geo: unknown field "geo"; use one of id, time/,
    );
    expect(problems(VALID.replace('{count} times', '{count} times in {city}'))).toMatch(
      /summary: unknown placeholder \{city\}; available: /,
    );
    expect(problems(VALID.replace('window: 10m', 'window: 10 minutes'))).toContain(
      'params.window: "10 minutes" is not a duration; write a number and s, m, h or d (10m, 1h, 7d)',
    );
    expect(problems(VALID.replace('threshold: 3 }', 'threshold: 3, sliding: true }'))).toContain(
      'params: unsupported field "sliding"',
    );
    expect(problems(`${VALID}\nallow: { ips: [203.0.113.0/33] }`)).toContain(
      'allow.ips.0: "203.0.113.0/33" is not an address or CIDR range',
    );
    expect(problems(`${VALID}\nallow: { countries: [DE, Germany] }`)).toContain(
      'allow.countries.1: "Germany" is not a two-letter country code such as DE',
    );
    expect(problems(`${VALID}\nallow: { users: ['  '] }`)).toContain('allow.users.0: an empty entry');
    expect(problems(`${VALID}\nallow: { apps: [${'a'.repeat(321)}] }`)).toContain(
      'allow.apps.0: at most 320 characters',
    );
    expect(
      parseRuleFile(`${VALID}\nallow: { users: [' alice@example.com '] }`, 'test.yaml').header.allow.users,
    ).toEqual(['alice@example.com']);
    expect(problems(`${VALID}\nid: other`)).toMatch(/^test.yaml: YAML line 12, column 1: Map keys must be unique/);
    expect(
      problems(VALID.replace("'outcome: failure'", '').replace('outcome: failure', "'src_ip|cidr': not-an-ip")),
    ).toContain('match.src_ip|cidr: "not-an-ip" is not an address or CIDR range');
  });
});

describe('rule file problems', () => {
  const BOMB = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    ...'bcdefghi'.split('').map((name, i) => `${name}: &${name} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
  ].join('\n');

  it('places YAML problems by line and column', () => {
    expect(problems(VALID.replace('severity: high', 'severity: high\n  technique: T1110'))).toMatch(
      /^test.yaml: YAML line 5, column \d+: /,
    );
    expect(problems(`${VALID}title: Again\n`)).toBe('test.yaml: YAML line 11, column 1: Map keys must be unique');
  });

  it('reports the problems of every part of the rule in one message', () => {
    const text = [
      'id: My Rule',
      'title: t',
      'type: threshold',
      'severity: urgent',
      'technique: T1110',
      'description: d',
      "summary: '{nope} {count}'",
      'match: { outcome: denied, bogus: 1, any: [{ geo: DE }] }',
      'params: { group_by: [srcnet], window: 10, threshold: 0 }',
    ].join('\n');
    const message = problems(text);
    for (const part of [
      'id: lowercase letters',
      'severity: Invalid option',
      'summary: unknown placeholder {nope}',
      'match.outcome: "denied" never matches',
      'match.bogus: unknown field "bogus"',
      'match.any[0].geo: unknown field "geo"',
      'params.group_by.0: unknown field "srcnet"; use src_net (the /24 or /48 of src_ip), one of id,',
      'params.window:',
      'params.threshold:',
    ]) {
      expect(message).toContain(part);
    }
  });

  it('refuses an outcome no event has, anywhere in the match block, and takes the three there are', () => {
    expect(problems(VALID.replace('outcome: failure', 'outcome: denied'))).toBe(
      'test.yaml: match.outcome: "denied" never matches; an outcome is one of success, failure, unknown (a denied login is failure, an allowed one success)',
    );
    expect(problems(VALID.replace('outcome: failure', 'not: { outcome: [failure, blocked] }'))).toContain(
      'match.not.outcome: "blocked" never matches',
    );
    for (const outcome of ['success', 'FAILURE', 'unknown', '[success, failure]']) {
      expect(parseRuleFile(VALID.replace('outcome: failure', `outcome: ${outcome}`), 'test.yaml').match).toBeDefined();
    }
  });

  it('checks the match blocks inside params as the top-level one, with every other problem of the file', () => {
    const rule = (type: string, params: string) =>
      ['id: r', 'title: t', `type: ${type}`, 'severity: high', 'technique: T1110', 'description: d']
        .concat(["summary: '{user}'", 'match: { dataset: access_requests }', `params: ${params}`])
        .join('\n');
    // Accepted before, and could never fire: no event has these outcomes.
    expect(
      problems(
        rule(
          'sequence',
          '{ group_by: [user], count: 5, window: 30m, first: { outcome: denied }, then: { outcome: allowed } }',
        ),
      ),
    ).toBe(
      'test.yaml: params.first.outcome: "denied" never matches; an outcome is one of success, failure, unknown (a denied login is failure, an allowed one success); params.then.outcome: "allowed" never matches; an outcome is one of success, failure, unknown (a denied login is failure, an allowed one success)',
    );
    // Shown with the params schema's own problems, not after they are fixed.
    const sequence = problems(
      rule(
        'sequence',
        '{ group_by: [user], count: 5, window: 30m, first: { outcome: nope, foo: 1 }, then: { any: [{ bar: 2 }] }, escalate_to: extreme }',
      ),
    );
    for (const part of [
      'params.first.outcome: "nope" never matches',
      'params.first.foo: unknown field "foo"',
      'params.then.any[0].bar: unknown field "bar"',
      'params.escalate_to: Invalid option',
    ]) {
      expect(sequence).toContain(part);
    }
    const deprovisioned = problems(
      rule(
        'deprovisioned_login',
        '{ deprovision: { outcome: removed }, reprovision: { not: { baz: 1 } }, login: { outcome: [success, ok] }, grace: -1 }',
      ),
    );
    for (const part of [
      'params.deprovision.outcome: "removed" never matches',
      'params.reprovision.not.baz: unknown field "baz"',
      'params.login.outcome: "ok" never matches',
    ]) {
      expect(deprovisioned).toContain(part);
    }
    const firstSeen = problems(
      rule(
        'first_seen',
        '{ group_by: [user], field: country, learning: 14d, escalate_to: extreme, learn_from: { match: { outcome: allowed, qux: 1 }, group_by: [user], field: country } }',
      ),
    );
    for (const part of [
      'params.learn_from.match.outcome: "allowed" never matches',
      'params.learn_from.match.qux: unknown field "qux"',
      'params.escalate_to: Invalid option',
    ]) {
      expect(firstSeen).toContain(part);
    }
  });

  it('refuses aliases that expand into millions of values with RULE_INVALID, in either format', () => {
    expect(problems(`${BOMB}\n${VALID}`)).toMatch(/^test.yaml: YAML: Excessive alias count/);
    const sigma = `title: x\n${BOMB}\nlogsource: { product: cloudflare, service: access }\ndetection: { sel: { outcome: failure }, condition: sel }\n`;
    for (const text of [`${BOMB}\n${VALID}`, sigma]) {
      expect(thrown(() => parseAnyRuleFile(text, 'bomb.yaml'))).toMatchObject({ code: 'RULE_INVALID' });
    }
  });

  it('reads a Sigma file whose YAML is broken as Sigma, with its place and the Sigma hint', () => {
    const text =
      'title: x\nlogsource:\n  product: cloudflare\ndetection:\n  sel:\n    outcome: [failure\n  condition: sel\n';
    const error = thrown(() => parseAnyRuleFile(text, 'broken.yml')) as { code: string; message: string; hint: string };
    expect(error.code).toBe('RULE_INVALID');
    expect(error.message).toMatch(/^Sigma rule \(broken.yml\): the file \(line 7, column 3\): the YAML does not parse/);
    expect(error.hint).toContain('docs/sigma.md');
  });
});

describe('match blocks', () => {
  const matches = (block: unknown): boolean => compileMatch(block, 'match')(event);

  it('compares strings without regard to case and takes any of a list', () => {
    expect(matches({ user: 'admin@example.com', dataset: ['access_requests', 'audit_logs'] })).toBe(true);
    expect(matches({ user: 'bob@example.com' })).toBe(false);
    expect(matches({ 'user|endswith': '@EXAMPLE.com', 'user|startswith': 'adm', 'user|contains': 'n@e' })).toBe(true);
    expect(matches({ 'user|re': '^admin@' })).toBe(true);
    expect(matches({ class_uid: 6003 })).toBe(true);
  });

  it('reads every value under an ocsf or raw path, with * for any element', () => {
    expect(matches({ 'ocsf.resources.*.type': 'api_token' })).toBe(true);
    expect(matches({ 'ocsf.resources.*.type|contains': 'token', 'raw.action.type': 'create' })).toBe(true);
    expect(matches({ 'ocsf.resources.*.data.request.enabled': false })).toBe(true);
    expect(matches({ 'ocsf.resources.*.data.request.enabled': true })).toBe(false);
    expect(matches({ 'ocsf.missing|exists': false, 'ocsf.resources|exists': true })).toBe(true);
  });

  it('matches addresses against CIDR ranges and combines with any and not', () => {
    expect(matches({ 'src_ip|cidr': ['198.51.100.0/24', '203.0.113.0/24'] })).toBe(true);
    expect(matches({ 'src_ip|cidr': '2001:db8::/32' })).toBe(false);
    expect(matches({ any: [{ user: 'x' }, { country: 'de' }] })).toBe(true);
    expect(matches({ not: { country: 'de' } })).toBe(false);
  });
});
