import type { AlertFiring } from '../../src/store/detection-store.js';

const MINUTE = 60_000;

/**
 * What the brute-force rule hands the store for `user`: `evidence` denied logins a minute apart from `firstAtMs`,
 * suppressed for an hour, as the notification tests raise it.
 */
export function bruteForceFiring(
  user: string,
  evidence: number,
  firstAtMs: number,
  overrides: Partial<AlertFiring> = {},
): AlertFiring {
  return {
    ruleId: 'zt-brute-force-user',
    title: 'Brute force against a user',
    severity: 'high',
    technique: 'T1110.001',
    entityKey: user,
    entity: { user, ip: '192.0.2.7', app: 'Wiki' },
    summary: `${user} was denied ${evidence} time${evidence === 1 ? '' : 's'} from 192.0.2.7`,
    evidence: Array.from({ length: evidence }, (_, n) => ({
      eventId: `${user}-ev-${n}`,
      eventTime: firstAtMs + n * MINUTE,
    })),
    details: {},
    suppressMs: 60 * MINUTE,
    ...overrides,
  };
}
