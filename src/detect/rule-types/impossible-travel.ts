import { z } from 'zod';
import { durationSchema, formatDuration } from '../duration.js';
import { describeLocatedBy, distanceKm, locate, type Place } from '../geolocation.js';
import { registerRuleType, type RawFiring } from '../rule.js';
import {
  dropOlderThan,
  entityOf,
  eventVars,
  evidenceOf,
  groupBySchema,
  grouping,
  insertEntry,
  LATENESS_MS,
} from './common.js';

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

/**
 * One located sign-in: time, event id, source address and the country the event had. Its place is found again
 * from the address and country when compared (lookups are remembered), not stored: with coordinates and a label
 * in it, the state of a busy user took about 7 KB of JSON, written and read back with each batch of events.
 */
type Sighting = readonly [time: number, id: string, ip: string | null, country: string | null];

/** Sign-ins one key keeps at most; the oldest go first. */
const MAX_SIGHTINGS = 50;

// State written before the compact form: time, id, latitude, longitude, how located, place's country, label, address.
const LEGACY_LENGTH = 8;

// The key's list as this batch holds it, changed in place: copying a list of up to 50 sign-ins for each event
// made most of what the detection thread allocated.
function sightingsOf(value: unknown): Sighting[] {
  if (!Array.isArray(value)) return [];
  const items = value as unknown[][];
  if (!items.some((item) => item.length === LEGACY_LENGTH)) return items as unknown as Sighting[];
  return items.map((item) =>
    item.length === LEGACY_LENGTH
      ? [item[0] as number, item[1] as string, item[7] as string | null, item[5] as string | null]
      : (item as unknown as Sighting),
  );
}

function detailsOf(sighting: Sighting, place: Place): Record<string, string | null> {
  return {
    event_id: sighting[1],
    ip: sighting[2],
    country: place.country,
    place: place.label,
    located_by: describeLocatedBy(place.by),
  };
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
        const current: Sighting = [event.time, event.id, event.srcIp, event.country];
        if (!insertEntry(sightings, current)) return [];
        let worst: { other: Sighting; otherPlace: Place; km: number; kmh: number } | null = null;
        // A user's sign-ins come from a few places, in runs: the distance to the place just measured is reused
        // instead of recomputing the haversine for each of up to 50 sightings.
        let measuredPlace: Place | null = null;
        let measuredKm = 0;
        for (const other of sightings) {
          if (other === current) continue;
          const elapsedMs = Math.abs(event.time - other[0]);
          if (elapsedMs > params.window) continue;
          if (other[2] !== null && other[2] === event.srcIp) continue;
          const otherPlace = locate(other[2], other[3]);
          if (otherPlace === null) continue;
          const sameCountry = otherPlace.country !== null && otherPlace.country === place.country;
          if (sameCountry && (otherPlace.by === 'country_centroid' || place.by === 'country_centroid')) continue;
          if (otherPlace !== measuredPlace) {
            measuredPlace = otherPlace;
            measuredKm = distanceKm(otherPlace, place);
          }
          const km = measuredKm;
          if (km < params.min_distance_km) continue;
          // Two sign-ins in the same second count as one second apart, so the speed stays a finite number.
          const kmh = km / (Math.max(elapsedMs, 1_000) / 3_600_000);
          if (kmh <= params.max_speed_kmh) continue;
          if (worst === null || kmh > worst.kmh) worst = { other, otherPlace, km, kmh };
        }
        const newest = sightings[sightings.length - 1]?.[0] ?? event.time;
        dropOlderThan(sightings, newest - params.window - LATENESS_MS, MAX_SIGHTINGS);
        state.set(group.key, sightings);
        if (worst === null) return [];
        const seen = { sighting: worst.other, place: worst.otherPlace };
        const now = { sighting: current, place };
        const [from, to] = worst.other[0] <= event.time ? [seen, now] : [now, seen];
        const firing: RawFiring = {
          entityKey: group.key,
          entity: entityOf(event, group.values),
          evidence: evidenceOf([
            [from.sighting[0], from.sighting[1], null],
            [to.sighting[0], to.sighting[1], null],
          ]),
          vars: {
            ...eventVars(event),
            from_place: from.place.label,
            to_place: to.place.label,
            from_ip: from.sighting[2],
            to_ip: to.sighting[2],
            from_how: describeLocatedBy(from.place.by),
            to_how: describeLocatedBy(to.place.by),
            distance: Math.round(worst.km),
            speed: Math.round(worst.kmh),
            duration: formatDuration(to.sighting[0] - from.sighting[0]),
          },
          details: {
            distance_km: Math.round(worst.km),
            speed_kmh: Math.round(worst.kmh),
            max_speed_kmh: params.max_speed_kmh,
            min_distance_km: params.min_distance_km,
            from: detailsOf(from.sighting, from.place),
            to: detailsOf(to.sighting, to.place),
          },
        };
        return [firing];
      },
    };
  },
});
