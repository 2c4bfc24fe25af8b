import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { validateComponent } from '../../test/helpers/openapi.js';
import { checkedGet, firstError, trackedSimulators } from '../../test/helpers/simulators.js';
import { DEFAULT_PERMISSIONS, DEFAULT_TOKEN, PERMISSIONS } from './simulator.js';
import type { Simulator } from './simulator.js';

const NOW = Date.parse('2026-03-12T10:00:00Z');
const CHECKER = 'tokenChecker0000000000000000000000000000';
const EDITOR = 'appsEditor000000000000000000000000000000';
const start = trackedSimulators(() => ({
  clock: new ManualClock(NOW),
  tokens: [
    { value: CHECKER, name: 'zerotrail', permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.apiTokens] },
    {
      value: EDITOR,
      permissions: ['Access: Apps and Policies Write', 'API Tokens Read'],
      expiresOn: '2026-12-31T00:00:00Z',
    },
    { value: DEFAULT_TOKEN },
  ],
}));

type Json = Record<string, unknown>;

async function idOf(sim: Simulator, token: string): Promise<string> {
  const reply = await checkedGet(sim, '/user/tokens/verify', { token });
  return String((reply.body['result'] as Json)['id']);
}

function groupNames(token: Json): string[] {
  return (token['policies'] as Json[]).flatMap((p) => (p['permission_groups'] as Json[]).map((g) => String(g['name'])));
}

describe('token details', () => {
  it('describes the calling token with its permission groups, as spec-2024 iam_token', async () => {
    const sim = await start();
    const id = await idOf(sim, CHECKER);
    const reply = await checkedGet(sim, `/user/tokens/${id}`, { token: CHECKER });
    expect(reply.status).toBe(200);
    const token = reply.body['result'] as Json;
    expect(validateComponent('iam_token', token)).toEqual([]);
    expect(token).toMatchObject({ id, name: 'zerotrail', status: 'active' });
    expect(groupNames(token).sort()).toEqual([...DEFAULT_PERMISSIONS, PERMISSIONS.apiTokens].sort());
    const policies = token['policies'] as Json[];
    // Account groups apply to the account; API Tokens Read applies to the owner's user.
    expect(policies.map((p) => Object.keys(p['resources'] as Json))).toEqual([
      [`com.cloudflare.api.account.${sim.accountId}`],
      [expect.stringMatching(/^com\.cloudflare\.api\.user\.[0-9a-f]{32}$/) as unknown],
    ]);
    for (const group of policies.flatMap((p) => p['permission_groups'] as Json[]))
      expect(group['id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it('shows edit permissions and the expiry of another token of the same user', async () => {
    const sim = await start();
    const id = await idOf(sim, EDITOR);
    const token = (await checkedGet(sim, `/user/tokens/${id}`, { token: CHECKER })).body['result'] as Json;
    expect(validateComponent('iam_token', token)).toEqual([]);
    expect(groupNames(token)).toContain('Access: Apps and Policies Write');
    expect(token['expires_on']).toBe('2026-12-31T00:00:00Z');
    expect(validateComponent('iam_token', { ...token, status: 'revoked' })).not.toEqual([]);
  });

  it('answers 403 10000 without API Tokens Read and 404 for an id it does not know', async () => {
    const sim = await start();
    const own = await idOf(sim, DEFAULT_TOKEN);
    const refused = await checkedGet(sim, `/user/tokens/${own}`, { token: DEFAULT_TOKEN });
    expect(refused.status).toBe(403);
    expect(firstError(refused)).toEqual({ code: 10000, message: 'Authentication error' });
    const unknown = await checkedGet(sim, '/user/tokens/0123456789abcdef0123456789abcdef', { token: CHECKER });
    expect(unknown.status).toBe(404);
    expect(firstError(unknown)['code']).toBe(7003);
    // The verify endpoint is still routed to its own handler.
    expect((await checkedGet(sim, '/user/tokens/verify', { token: DEFAULT_TOKEN })).status).toBe(200);
  });
});
