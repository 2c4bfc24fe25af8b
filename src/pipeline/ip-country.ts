import type { NormalizedEvent } from '../core/event.js';
import { IP_DATASET_NAME, locateIp } from '../detect/geolocation.js';

// OCSF Authentication.
const AUTHENTICATION_CLASS_UID = 3002;

/**
 * Gives an authentication the country of its source address when Cloudflare reported none, which is nearly
 * always: the Access log API returns no country (API-NOTES §2.1). Stored in the `country` column and as the
 * OCSF `src_endpoint.location`, with the dataset named as its provider, so the dashboard's map, `country:`
 * searches and timelines have one. A country Cloudflare did report is never replaced.
 */
export function withIpCountry(event: NormalizedEvent): NormalizedEvent {
  if (event.country !== null || event.srcIp === null || event.classUid !== AUTHENTICATION_CLASS_UID) return event;
  const place = locateIp(event.srcIp);
  if (place?.country == null) return event;
  const endpoint = event.ocsf['src_endpoint'];
  const location = {
    country: place.country,
    coordinates: [place.longitude, place.latitude],
    desc: place.label,
    provider: IP_DATASET_NAME,
  };
  return {
    ...event,
    country: place.country,
    // A spread copy keeps the members in their order, so shared enrichments stay last (see ocsf-body.ts).
    ocsf: {
      ...event.ocsf,
      src_endpoint: { ...(typeof endpoint === 'object' && endpoint !== null ? endpoint : {}), location },
    },
  };
}
