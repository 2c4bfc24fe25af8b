import { describe, expect, it } from 'vitest';
import { rateShareProblem, rateShareShortfall } from './rate-share.js';

describe('rateShareShortfall', () => {
  it('says what a share too small gives, and the least share and limit that would work', () => {
    expect(rateShareShortfall(0.000002, { requests: 1200, windowSecs: 300 })).toEqual({
      requestsPerWindow: 0.000002 * 1200,
      smallestShare: 0.00084,
      smallestRequests: 500_000,
    });
    expect(rateShareShortfall(0.00084, { requests: 1200, windowSecs: 300 })).toBeUndefined();
  });

  it('names the fewest requests per window with which the share works, whatever the float division gives', () => {
    for (const share of [3e-7, 1e-6, 7e-6, 0.000002, 0.00033, 0.0007, 1 / 3]) {
      const limit = { requests: 1, windowSecs: 60 };
      const smallest = rateShareShortfall(share, limit)?.smallestRequests ?? 0;
      expect(rateShareProblem(share, { ...limit, requests: smallest }), `${share}`).toBeUndefined();
      expect(rateShareProblem(share, { ...limit, requests: smallest - 1 }), `${share}`).toBeDefined();
    }
  });

  it('returns at once for a share of 0 or less, which no limit makes work', () => {
    for (const share of [0, -0.1, -1, Number.NaN]) {
      expect(rateShareShortfall(share, { requests: 1200, windowSecs: 300 }), `${share}`).toEqual({
        requestsPerWindow: 0,
        smallestShare: 0.00084,
        smallestRequests: null,
      });
    }
  });
});
