import { z } from 'zod';
import { durationSchema, formatDuration } from '../duration.js';
import { describeLocatedBy, distanceKm, locate, type LocatedBy, type Place } from '../geolocation.js';
import { registerRuleType, type RawFiring } from '../rule.js';
import { entityOf, eventVars, evidenceOf, groupBySchema, grouping, LATENESS_MS } from './common.js';

const paramsSchema = z
  .object({
    group_by: groupBySchema,
    /** Two sign-ins further apart in time than this are not compared. */
    window: durationSchema,
    /** Faster than this between two places is impossible travel. */
    max_speed_kmh: z.number().positive(),
    /** Places closer than this are never reported: city-level geolocation is not more precise, and VPN hops are short. */
    min_distance_km: z.number().min(0),
  })
  .strict();

/** One located sign-in: time, event id, latitude, longitude, how it was located, country, label, address. */
type Sighting = readonly [
  time: number,
  id: string,
  latitude: number,
  longitude: number,
  by: LocatedBy,
  country: string | null,
  label: string,
  ip: string | null,
];

/** Sign-ins one key keeps at most; the oldest go first. */
const MAX_SIGHTINGS = 50;

function placeOf(s: Sighting): Place {
  return { latitude: s[2], longitude: s[3], by: s[4], country: s[5], label: s[6] };
}

function sightingsOf(value: unknown): Sighting[] {
  return Array.isArray(value) ? (value as Sighting[]).slice() : [];
}

/**
 * Two sign-ins of one key whose places are at least `min_distance_km` apart and further than `max_speed_kmh`
 * allows for the time between them. Places come from the IP dataset, else the centre of the event's country.
 * A centroid says nothing about where in its country someone is, so a centroid and any place in the same country
 * are never compared. A late sign-in is compared with those before and after it.
 */
export const impossibleTravelRule = registerRuleType({
  params: paramsSchema,
  variables: ['from_place', 'to_place', 'from_ip', 'to_ip', 'from_how', 'to_how', 'distance', 'speed', 'duration'],
  create(params) {
    const keyOf = grouping(params.group_by);
    return {
      stateKeys: (event) => {
        const group = keyOf(event);
        return group === null ? [] : [group.key];
      },
      evaluate(event, state) {
        const group = keyOf(event);
        if (group === null) return [];
        const place = locate(event.srcIp, event.country);
        if (place === null) return [];
        const sightings = sightingsOf(state.get(group.key));
        if (sightings.some((s) => s[1] === event.id)) return [];
        const current: Sighting = [
          event.time,
          event.id,
          place.latitude,
          place.longitude,
          place.by,
          place.country,
          place.label,
          event.srcIp,
        ];
        let worst: { other: Sighting; km: number; kmh: number } | null = null;
        for (const other of sightings) {
          const elapsedMs = Math.abs(event.time - other[0]);
          if (elapsedMs > params.window) continue;
          if (other[7] !== null && other[7] === event.srcIp) continue;
          const sameCountry = other[5] !== null && other[5] === place.country;
          if (sameCountry && (other[4] === 'country_centroid' || place.by === 'country_centroid')) continue;
          const km = distanceKm(placeOf(other), place);
          if (km < params.min_distance_km) continue;
          // Two sign-ins in the same second count as one second apart, so the speed stays a finite number.
          const kmh = km / (Math.max(elapsedMs, 1_000) / 3_600_000);
          if (kmh <= params.max_speed_kmh) continue;
          if (worst === null || kmh > worst.kmh) worst = { other, km, kmh };
        }
        sightings.push(current);
        sightings.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        const newest = sightings[sightings.length - 1]?.[0] ?? event.time;
        const kept = sightings.filter((s) => s[0] >= newest - params.window - LATENESS_MS).slice(-MAX_SIGHTINGS);
        state.set(group.key, kept);
        if (worst === null) return [];
        const [from, to] = worst.other[0] <= event.time ? [worst.other, current] : [current, worst.other];
        const firing: RawFiring = {
          entityKey: group.key,
          entity: entityOf(event, group.values),
          evidence: evidenceOf([
            [from[0], from[1], null],
            [to[0], to[1], null],
          ]),
          vars: {
            ...eventVars(event),
            from_place: from[6],
            to_place: to[6],
            from_ip: from[7],
            to_ip: to[7],
            from_how: describeLocatedBy(from[4]),
            to_how: describeLocatedBy(to[4]),
            distance: Math.round(worst.km),
            speed: Math.round(worst.kmh),
            duration: formatDuration(to[0] - from[0]),
          },
          details: {
            distance_km: Math.round(worst.km),
            speed_kmh: Math.round(worst.kmh),
            max_speed_kmh: params.max_speed_kmh,
            min_distance_km: params.min_distance_km,
            from: {
              event_id: from[1],
              ip: from[7],
              country: from[5],
              place: from[6],
              located_by: describeLocatedBy(from[4]),
            },
            to: { event_id: to[1], ip: to[7], country: to[5], place: to[6], located_by: describeLocatedBy(to[4]) },
          },
        };
        return [firing];
      },
    };
  },
});
