import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../core/event.js';
import type { CompiledSigmaRule } from './compile-sigma-rule.js';
import { loadSigmaRuleFile } from './load-sigma-rule-file.js';
import { accessEvent, auditEvent, auditV1Event, inventoryEvents, scimEvent } from './sigma-events.suite.js';
import { SigmaRuleError } from './sigma-rule-error.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), 'examples');

async function example(name: string): Promise<CompiledSigmaRule> {
  return loadSigmaRuleFile(join(EXAMPLES, name));
}

describe('example Sigma rules', () => {
  it('all load', async () => {
    const names = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yml'));
    expect(names.length).toBeGreaterThanOrEqual(6);
    const rules = await Promise.all(names.map((name) => example(name)));
    expect(new Set(rules.map((rule) => rule.id)).size).toBe(names.length);
    for (const rule of rules) expect(rule.techniques.length).toBeGreaterThan(0);
  });

  it('denied login for an administrator account', async () => {
    const rule = await example('cloudflare_access_denied_admin_login.yml');
    expect(rule.severity).toBe('high');
    expect(rule.techniques).toEqual(['T1078.004']);
    const fires: NormalizedEvent[] = [
      accessEvent({ user_email: 'admin@example.com' }),
      accessEvent({ user_email: 'Root@example.com' }),
      accessEvent({ user_email: 'breakglass-2@example.com' }),
      accessEvent({ user_email: 'jane-admin@example.com' }),
    ];
    const quiet: NormalizedEvent[] = [
      accessEvent({ user_email: 'admin@example.com', allowed: true }),
      accessEvent({ user_email: 'alice@example.com' }),
      accessEvent({ user_email: 'sysadmin@example.com' }),
      accessEvent({ user_email: 'admin-bot@svc.example.com' }),
      scimEvent({ resource_user_email: 'admin@example.com', status: 'FAILURE' }),
    ];
    for (const event of fires) expect(rule.match(event), event.user ?? '').toBe(true);
    for (const event of quiet) expect(rule.match(event), event.user ?? '').toBe(false);
  });

  it('denied logins counted by source address', async () => {
    const rule = await example('cloudflare_access_denied_logins_by_ip.yml');
    expect(rule.aggregation).toEqual({ groupBy: ['src_ip'], operator: '>', threshold: 20, timeframeMs: 600_000 });
    expect(rule.match(accessEvent())).toBe(true);
    expect(rule.match(accessEvent({ allowed: true }))).toBe(false);
    expect(rule.match(accessEvent({ action: 'logout' }))).toBe(false);
    expect(rule.fieldText(accessEvent(), 'src_ip')).toBe('203.0.113.7');
  });

  it('password spraying counts distinct users', async () => {
    const rule = await example('cloudflare_access_password_spray.yml');
    expect(rule.aggregation).toEqual({
      groupBy: ['src_ip'],
      distinctField: 'user',
      operator: '>',
      threshold: 10,
      timeframeMs: 900_000,
    });
    expect(rule.fieldText(accessEvent({ user_email: 'Carol@Example.com' }), 'user')).toBe('carol@example.com');
  });

  it('SCIM user deactivated or deleted', async () => {
    const rule = await example('cloudflare_scim_user_deactivated.yml');
    const deleted = scimEvent({ request_method: 'DELETE', request_body: '' });
    const reactivated = scimEvent({
      request_body: JSON.stringify({ Operations: [{ op: 'replace', path: 'active', value: true }] }),
    });
    const groupDeleted = scimEvent({ resource_type: 'GROUP', request_method: 'DELETE', request_body: '' });
    expect(rule.match(scimEvent())).toBe(true);
    expect(rule.match(deleted)).toBe(true);
    expect(rule.match(scimEvent({ status: 'FAILURE' }))).toBe(false);
    expect(rule.match(reactivated)).toBe(false);
    expect(rule.match(groupDeleted)).toBe(false);
  });

  it('API token created', async () => {
    const rule = await example('cloudflare_audit_api_token_created.yml');
    expect(rule.match(auditEvent())).toBe(true);
    expect(rule.match(auditV1Event('token_create'))).toBe(true);
    const failed = auditEvent({
      action: { description: 'Create API token', result: 'failure', time: '2026-11-20T09:15:02Z', type: 'create' },
    });
    expect(rule.match(failed)).toBe(false);
    const ruleCreated = auditEvent({
      action: { description: 'Create Gateway rule', result: 'success', time: '2026-11-20T09:15:02Z', type: 'create' },
      resource: { id: 'r1', product: 'gateway', type: 'gateway_rule' },
    });
    expect(rule.match(ruleCreated)).toBe(false);
    expect(rule.match(auditV1Event('token_delete'))).toBe(false);
    expect(rule.match(auditV1Event('login'))).toBe(false);
  });

  it('identity provider added', async () => {
    const rule = await example('cloudflare_inventory_identity_provider_added.yml');
    const okta = { kind: 'identity_provider' as const, id: 'idp-1', name: 'Okta', attributes: { type: 'okta' } };
    const pin = { kind: 'identity_provider' as const, id: 'idp-2', name: 'PIN', attributes: { type: 'onetimepin' } };
    const group = { kind: 'group' as const, id: 'g-1', name: 'Admins', attributes: { include: [] } };
    const [added] = inventoryEvents('identity_providers', [okta], [okta, pin]);
    const [removed] = inventoryEvents('identity_providers', [okta, pin], [okta]);
    const [groupAdded] = inventoryEvents('groups', [], [group]);
    expect(rule.match(added as NormalizedEvent)).toBe(true);
    expect(rule.match(removed as NormalizedEvent)).toBe(false);
    expect(rule.match(groupAdded as NormalizedEvent)).toBe(false);
  });

  it('refuses a file that is missing, and names it', async () => {
    const missing = join(EXAMPLES, 'no-such-rule.yml');
    await expect(loadSigmaRuleFile(missing)).rejects.toThrow(SigmaRuleError);
    await expect(loadSigmaRuleFile(missing)).rejects.toThrow(
      `Sigma rule (${missing}): the file: the file does not exist`,
    );
    await expect(loadSigmaRuleFile(EXAMPLES)).rejects.toThrow('it is not a file');
  });
});
