import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { checkedGet, firstError, trackedSimulators } from '../../test/helpers/simulators.js';
import { grants, PERMISSIONS } from './permissions.js';
import { DEFAULT_TOKEN } from './simulator.js';
import type { Simulator } from './simulator.js';

const NOW = Date.parse('2026-03-12T00:00:00Z');
const start = trackedSimulators(() => ({ clock: new ManualClock(NOW) }));

const since = new Date(NOW - 86_400_000).toISOString();
// Each endpoint outside the default three permissions, with the permission group it names.
function guarded(sim: Simulator, tokenId: string): [string, string][] {
  const account = `/accounts/${sim.accountId}`;
  return [
    [`${account}/access/apps`, PERMISSIONS.accessAppsAndPolicies],
    [`${account}/access/policies`, PERMISSIONS.accessAppsAndPolicies],
    [`${account}/access/logs/scim/updates?idp_id=x`, PERMISSIONS.accessScimLogs],
    [`${account}/audit_logs`, PERMISSIONS.accountSettings],
    [`${account}/logs/audit?since=${since}&before=${since}`, PERMISSIONS.accountSettings],
    [`/user/tokens/${tokenId}`, PERMISSIONS.apiTokens],
  ];
}

async function tokenId(sim: Simulator, token: string): Promise<string> {
  const verify = await checkedGet(sim, '/user/tokens/verify', { token });
  return String((verify.body['result'] as Record<string, unknown>)['id']);
}

describe('permission groups', () => {
  it('grants a Read group to the same group, its Write and its Edit variant only', () => {
    const read = 'Access: Apps and Policies Read';
    expect(grants([read], read)).toBe(true);
    expect(grants(['Access: Apps and Policies Write'], read)).toBe(true);
    expect(grants(['Account Settings Edit'], PERMISSIONS.accountSettings)).toBe(true);
    expect(grants(['Access: Apps and Policies Revoke'], read)).toBe(false);
    expect(grants(['Access: Apps Write'], read)).toBe(false);
    expect(grants(['Zero Trust Read'], read)).toBe(false);
  });

  it('refuses the default token on every endpoint beyond the three default groups with 403 10000', async () => {
    const sim = await start();
    const id = await tokenId(sim, DEFAULT_TOKEN);
    for (const [path] of guarded(sim, id)) {
      const reply = await checkedGet(sim, path);
      expect({ path, status: reply.status }).toEqual({ path, status: 403 });
      expect(firstError(reply)).toEqual({ code: 10000, message: 'Authentication error' });
    }
  });

  it('answers a token holding the Read group or its Write or Edit variant', async () => {
    const tokens = ['Read', 'Write', 'Edit'].map((variant) => ({
      value: `token${variant}`.padEnd(40, '0'),
      permissions: Object.values(PERMISSIONS).map((p) => p.replace(/ Read$/, ` ${variant}`)),
    }));
    const sim = await start({ tokens });
    for (const token of tokens) {
      const id = await tokenId(sim, token.value);
      for (const [path, permission] of guarded(sim, id)) {
        const reply = await checkedGet(sim, path, { token: token.value });
        expect({ path, permission, held: token.permissions[0], status: reply.status }).toEqual({
          path,
          permission,
          held: token.permissions[0],
          status: 200,
        });
      }
    }
  });
});
