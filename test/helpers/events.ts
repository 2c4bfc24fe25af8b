import type { NormalizedEvent } from '../../src/core/event.js';

/**
 * The n-th of a run of denied logins by one user from one address, ten seconds apart from `startMs`: fourteen of
 * them make the built-in brute-force rule fire.
 */
export function deniedLogin(n: number, startMs: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    id: `${String(startMs + n * 10_000).padStart(14, '0')}-${String(n).padStart(6, '0')}`,
    sourceName: 'cf',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    time: startMs + n * 10_000,
    classUid: 3002,
    activity: 'logon',
    outcome: 'failure',
    user: 'alice@example.com',
    srcIp: '192.0.2.7',
    country: 'ru',
    app: 'wiki.example.com',
    appUid: 'app-1',
    idp: 'okta',
    rayId: null,
    ocsf: { message: 'Cloudflare Access logon denied' },
    raw: {},
    ...overrides,
  };
}
