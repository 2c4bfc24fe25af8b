import type { NormalizedEvent } from '../../src/core/event.js';

/** A denied Access login by alice@example.com from 203.0.113.7 at `time`; `serial` tells apart events of one time. */
export function deniedAccess(
  overrides: Partial<NormalizedEvent> & { readonly time: number },
  serial: number,
): NormalizedEvent {
  return {
    id: `${String(overrides.time).padStart(14, '0')}-${String(serial).padStart(6, '0')}`,
    sourceName: 'cf',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'failure',
    user: 'alice@example.com',
    srcIp: '203.0.113.7',
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

/** The n-th of a run of denied logins ten seconds apart from `startMs`: fourteen make the brute-force rule fire. */
export function deniedLogin(n: number, startMs: number): NormalizedEvent {
  return deniedAccess({ time: startMs + n * 10_000 }, n);
}

/** A denied login by `user` to `app` whose id sorts by time, with the ray id `ray<n>`. */
export function deniedWithRay(n: number, time: number, user: string, app = 'Wiki'): NormalizedEvent {
  return deniedAccess(
    {
      id: `${time.toString(16).padStart(12, '0')}${String(n).padStart(20, '0')}`,
      time,
      user,
      country: 'RU',
      app,
      appUid: null,
      rayId: `ray${n}`,
      ocsf: {},
    },
    n,
  );
}
