import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../core/event.js';
import { IP_DATASET_NAME, locateIp } from '../detect/geolocation.js';
import { withIpCountry } from './ip-country.js';

const event = (overrides: Partial<NormalizedEvent>): NormalizedEvent => ({
  id: 'e1',
  time: 0,
  sourceName: 'cf',
  accountId: 'acct',
  dataset: 'access_requests',
  classUid: 3002,
  activity: 'logon',
  outcome: 'success',
  user: 'ann@example.com',
  srcIp: '8.8.8.8',
  country: null,
  app: null,
  appUid: null,
  idp: null,
  rayId: null,
  ocsf: { src_endpoint: { ip: '8.8.8.8' }, message: 'm', enrichments: [{ name: 'x' }] },
  raw: { ip_address: '8.8.8.8' },
  ...overrides,
});

describe('withIpCountry', () => {
  it('fills the country and the OCSF location from the IP dataset, naming it, and keeps the raw record', () => {
    const place = locateIp('8.8.8.8');
    expect(place?.country).toBe('US');
    const located = withIpCountry(event({}));
    expect(located.country).toBe('US');
    expect(located.ocsf['src_endpoint']).toEqual({
      ip: '8.8.8.8',
      location: {
        country: 'US',
        coordinates: [place?.longitude, place?.latitude],
        desc: place?.label,
        provider: IP_DATASET_NAME,
      },
    });
    // Members keep their order, so the shared enrichments stay last.
    expect(Object.keys(located.ocsf)).toEqual(['src_endpoint', 'message', 'enrichments']);
    expect(located.raw).toEqual({ ip_address: '8.8.8.8' });
  });

  it('never replaces a country Cloudflare reported', () => {
    const reported = event({ country: 'FR', ocsf: { src_endpoint: { ip: '8.8.8.8', location: { country: 'FR' } } } });
    expect(withIpCountry(reported)).toBe(reported);
  });

  it('leaves addresses the dataset cannot place, events without an address and other classes alone', () => {
    for (const unplaced of [
      event({ srcIp: '203.0.113.7' }),
      event({ srcIp: '10.1.2.3' }),
      event({ srcIp: null }),
      event({ classUid: 5001 }),
    ]) {
      expect(withIpCountry(unplaced)).toBe(unplaced);
    }
  });
});
