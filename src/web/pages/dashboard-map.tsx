import { geoEqualEarth, geoPath } from 'd3-geo';
import { alpha2ToNumeric } from 'i18n-iso-countries';
import { useMemo, type ReactNode } from 'react';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import atlas from 'world-atlas/countries-110m.json';
import type { DashboardCount } from '../api-client.js';
import { displayText } from '../format.js';
import { formatCount } from './dashboard-charts.js';

const WIDTH = 720;
const HEIGHT = 360;
// Shades from light to dark, as classes in styles.css; counts are split on a log scale so that one busy
// country does not leave every other one in the lightest shade.
const SHADES = 5;

interface CountryShape {
  readonly id: number;
  readonly name: string;
  readonly path: string;
}

// The atlas is bundled with the UI (world-atlas, Natural Earth 1:110m); nothing is fetched to draw it.
function countryShapes(): CountryShape[] {
  const topology = atlas as Topology<{ countries: GeometryCollection<{ name: string }> }>;
  const countries = feature(topology, topology.objects.countries);
  const projection = geoEqualEarth().fitSize([WIDTH, HEIGHT], countries);
  const path = geoPath(projection);
  return countries.features.flatMap((shape) => {
    const d = path(shape);
    return d === null ? [] : [{ id: Number(shape.id), name: shape.properties.name, path: d }];
  });
}

export interface WorldMapProps {
  readonly countries: readonly DashboardCount[];
  readonly onSelect: (count: DashboardCount) => void;
}

/** Authentications per country on a world map; a country with events opens them in Explore. */
export function WorldMap({ countries, onSelect }: WorldMapProps): ReactNode {
  const shapes = useMemo(countryShapes, []);
  const byId = new Map<number, DashboardCount>();
  for (const count of countries) {
    const numeric = alpha2ToNumeric(count.key.toUpperCase());
    if (numeric !== undefined) byId.set(Number(numeric), count);
  }
  const max = Math.max(1, ...countries.map((count) => count.total));
  const shade = (total: number): number =>
    Math.min(SHADES, 1 + Math.floor((Math.log(total) / Math.log(max + 1)) * SHADES));
  // Small countries (Singapore, Malta, …) have no shape at this scale; they are listed under the map instead.
  const drawn = new Set(shapes.map((shape) => shape.id));
  const unplaced = countries.filter((count) => {
    const numeric = alpha2ToNumeric(count.key.toUpperCase());
    return numeric === undefined || !drawn.has(Number(numeric));
  });
  return (
    <div className="world-map">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Authentications by country">
        {shapes.map((shape) => {
          const count = byId.get(shape.id);
          if (count === undefined) {
            return (
              <path key={shape.id} d={shape.path} className="country">
                <title>{`${shape.name}: none`}</title>
              </path>
            );
          }
          return (
            <path
              key={shape.id}
              d={shape.path}
              className={`country shade-${shade(count.total)}`}
              data-country={count.key}
              role="link"
              tabIndex={0}
              aria-label={`${shape.name}: ${formatCount(count.total)} authentications`}
              onClick={() => onSelect(count)}
              onKeyDown={(event) => {
                if (event.key === 'Enter') onSelect(count);
              }}
            >
              <title>{`${shape.name} (${displayText(count.key)}): ${formatCount(count.total)}, ${formatCount(count.denied)} denied`}</title>
            </path>
          );
        })}
      </svg>
      {countries.length === 0 ? (
        <p className="muted">
          No login in this period has a country: neither Cloudflare nor the IP dataset placed its address.
        </p>
      ) : null}
      {unplaced.length > 0 ? (
        <p className="muted">
          Not on the map (no shape at this scale):{' '}
          {unplaced.map((count) => `${displayText(count.key)} ${formatCount(count.total)}`).join(', ')}
        </p>
      ) : null}
    </div>
  );
}
