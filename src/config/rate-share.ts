interface RateLimit {
  readonly requests: number;
  readonly windowSecs: number;
}

/** How far a share falls short of one request per window, and the least that would reach it. */
export interface RateShareShortfall {
  /** What the share gives, share × requests: less than one. */
  readonly requestsPerWindow: number;
  /** The smallest share that works with this limit. */
  readonly smallestShare: number;
  /** The fewest requests per window with which this share works; null when no limit would (a share of 0 or less). */
  readonly smallestRequests: number | null;
}

/** Undefined when `share` of `limit` gives at least one request per window. */
export function rateShareShortfall(share: number, limit: RateLimit): RateShareShortfall | undefined {
  if (share * limit.requests >= 1) return undefined;
  // Only a stored share edited by hand can be this; no number of requests helps it, and the search below would
  // never end for a negative one.
  if (!(share > 0))
    return { requestsPerWindow: 0, smallestShare: smallestShare(limit.requests), smallestRequests: null };
  // Float division may land just above the whole number that works (1 / 3e-7 = 3333333.3333333335).
  let smallestRequests = Math.max(1, Math.ceil(1 / share - 1e-9));
  while (share * smallestRequests < 1) smallestRequests++;
  return {
    requestsPerWindow: share * limit.requests,
    smallestShare: smallestShare(limit.requests),
    smallestRequests,
  };
}

/**
 * Why `share` of `limit` cannot work, or undefined when it can. Below one request per rate window there is no
 * budget to speak of, and collection would all but stop without a word; every place that accepts a share (config,
 * env, `source add --rate-share`, a stored source's setting) checks it here.
 */
export function rateShareProblem(share: number, limit: RateLimit): string | undefined {
  const shortfall = rateShareShortfall(share, limit);
  if (shortfall === undefined) return undefined;
  return (
    `${share} of ${limit.requests} requests per ${limit.windowSecs} seconds is less than one request per window, ` +
    `too little to collect with; the smallest share that works with this limit is ${shortfall.smallestShare}`
  );
}

// 1/requests rounded up to two significant digits, so the share shown is one that passes the check above.
function smallestShare(requests: number): number {
  const exact = 1 / requests;
  const exponent = Math.floor(Math.log10(exact)) - 1;
  const step = 10 ** exponent;
  // The small allowance keeps float noise (1/1000 / 1e-4 = 10.000000000000002) from rounding a whole step up.
  let shown = Number((Math.ceil(exact / step - 1e-9) * step).toPrecision(2));
  if (shown * requests < 1) shown = Number((shown + step).toPrecision(2));
  return Math.min(shown, 1);
}
