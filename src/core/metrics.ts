/** In-process counters named `<area>_<thing>_<unit>_total`, labelled by a small fixed set of keys. */
export class Metrics {
  readonly #counters = new Map<string, number>();

  increment(name: string, labels: Readonly<Record<string, string>> = {}, by = 1): void {
    const key = metricKey(name, labels);
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by);
  }

  value(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.#counters.get(metricKey(name, labels)) ?? 0;
  }
}

function metricKey(name: string, labels: Readonly<Record<string, string>>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${labels[key] ?? ''}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}
