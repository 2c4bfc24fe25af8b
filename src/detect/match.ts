import type { NormalizedEvent } from '../core/event.js';
import { countryOf } from './geolocation.js';
import { inRange, ipBytes, parseIpRange, type IpRange } from './ip-range.js';

/** A compiled `match` block: true when the event satisfies every condition. */
export type EventPredicate = (event: NormalizedEvent) => boolean;

/** A problem in a rule file, with the dotted path of the field that has it. */
export class RuleProblem extends Error {
  override name = 'RuleProblem' as const;
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/** The flat fields a condition can name, as in the search language; anything else starts with ocsf. or raw. */
export const FLAT_FIELDS = {
  id: (event) => event.id,
  time: (event) => event.time,
  source: (event) => event.sourceName,
  account_id: (event) => event.accountId,
  dataset: (event) => event.dataset,
  class_uid: (event) => event.classUid,
  activity: (event) => event.activity,
  outcome: (event) => event.outcome,
  user: (event) => event.user,
  src_ip: (event) => event.srcIp,
  // Cloudflare's Access log reports no country, so rules fall back to the IP dataset's (see geolocation.ts).
  country: (event) => countryOf(event),
  app: (event) => event.app,
  app_uid: (event) => event.appUid,
  idp: (event) => event.idp,
  ray_id: (event) => event.rayId,
} as const satisfies Record<string, (event: NormalizedEvent) => unknown>;
export type FlatField = keyof typeof FLAT_FIELDS;

export const MODIFIERS = ['contains', 'startswith', 'endswith', 're', 'cidr', 'exists'] as const;
type Modifier = (typeof MODIFIERS)[number];

type Scalar = string | number | boolean | null;
type Getter = (event: NormalizedEvent) => readonly unknown[];

/** A field value as text for grouping and summaries; null when empty. Objects become their JSON. */
export function valueText(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

export function isFlatField(name: string): name is FlatField {
  return Object.hasOwn(FLAT_FIELDS, name);
}

/** Reads a field of an event: a flat field, or every value under an `ocsf.` / `raw.` path (`*` = any key). */
export function fieldGetter(field: string, path: string): Getter {
  if (isFlatField(field)) {
    const read = FLAT_FIELDS[field];
    return (event) => [read(event)];
  }
  const segments = field.split('.');
  const root = segments.shift();
  if ((root !== 'ocsf' && root !== 'raw') || segments.length === 0 || segments.some((s) => s === '')) {
    throw new RuleProblem(
      path,
      `unknown field "${field}"; use one of ${Object.keys(FLAT_FIELDS).join(', ')}, or a path under ocsf. or raw.`,
    );
  }
  return (event) => {
    let values: unknown[] = [root === 'ocsf' ? event.ocsf : event.raw];
    for (const segment of segments) {
      const next: unknown[] = [];
      for (const value of values) {
        if (value === null || typeof value !== 'object') continue;
        if (segment === '*')
          next.push(...(Array.isArray(value) ? (value as unknown[]) : Object.values(value as Record<string, unknown>)));
        else if (Object.hasOwn(value, segment)) next.push((value as Record<string, unknown>)[segment]);
      }
      values = next;
    }
    // A list at the end is matched element by element, like a multi-valued field.
    return values.flatMap((value) => (Array.isArray(value) ? (value as unknown[]) : [value]));
  };
}

/**
 * Compiles a `match` block. Keys are `field` or `field|modifier`; a value or a list of values (any of them
 * matches). `any: [blocks]` needs one block to match, `not: block` needs it not to. Strings compare without
 * regard to case. Every problem is reported with its path, never skipped.
 */
export function compileMatch(block: unknown, path: string): EventPredicate {
  if (block === null || typeof block !== 'object' || Array.isArray(block)) {
    throw new RuleProblem(path, 'must be a map of field: value conditions');
  }
  const predicates: EventPredicate[] = [];
  for (const [key, value] of Object.entries(block)) {
    const at = `${path}.${key}`;
    if (key === 'any') {
      if (!Array.isArray(value) || value.length === 0)
        throw new RuleProblem(at, 'must be a non-empty list of match blocks');
      const options = value.map((item, i) => compileMatch(item, `${at}[${i}]`));
      predicates.push((event) => {
        for (const option of options) if (option(event)) return true;
        return false;
      });
      continue;
    }
    if (key === 'not') {
      const inner = compileMatch(value, at);
      predicates.push((event) => !inner(event));
      continue;
    }
    predicates.push(compileCondition(key, value, at));
  }
  // Every rule tests every event: plain loops, so a test allocates nothing.
  return (event) => {
    for (const predicate of predicates) if (!predicate(event)) return false;
    return true;
  };
}

function compileCondition(key: string, value: unknown, path: string): EventPredicate {
  const [field = '', modifier, ...extra] = key.split('|');
  if (extra.length > 0) throw new RuleProblem(path, 'only one modifier per field is supported');
  if (modifier !== undefined && !(MODIFIERS as readonly string[]).includes(modifier)) {
    throw new RuleProblem(path, `unsupported modifier "${modifier}"; supported: ${MODIFIERS.join(', ')}`);
  }
  const get = fieldGetter(field, path);
  const wanted = (Array.isArray(value) ? value : [value]) as unknown[];
  if (wanted.length === 0) throw new RuleProblem(path, 'an empty list matches nothing; give at least one value');
  for (const [i, item] of wanted.entries()) {
    if (item !== null && !['string', 'number', 'boolean'].includes(typeof item)) {
      throw new RuleProblem(
        Array.isArray(value) ? `${path}[${i}]` : path,
        'values must be strings, numbers, booleans or null',
      );
    }
  }
  // A flat field has one value, read without the list a path's values come in.
  const read = isFlatField(field) ? FLAT_FIELDS[field] : null;
  if (modifier === 'exists') {
    if (wanted.length !== 1 || typeof wanted[0] !== 'boolean')
      throw new RuleProblem(path, 'exists takes true or false');
    const present = wanted[0];
    const isPresent = (actual: unknown): boolean => actual !== null && actual !== undefined;
    if (read !== null) return (event) => isPresent(read(event)) === present;
    return (event) => get(event).some(isPresent) === present;
  }
  const test = valueTest((modifier as Exclude<Modifier, 'exists'> | undefined) ?? null, wanted as Scalar[], path);
  if (read !== null) return (event) => test(read(event));
  return (event) => get(event).some(test);
}

const MAX_REMEMBERED_ANSWERS = 1024;

function someText(
  texts: readonly string[],
  actual: unknown,
  holds: (actual: string, text: string) => boolean,
): boolean {
  if (typeof actual !== 'string') return false;
  const lower = actual.toLowerCase();
  for (const text of texts) if (holds(lower, text)) return true;
  return false;
}

function valueTest(
  modifier: Exclude<Modifier, 'exists'> | null,
  wanted: readonly Scalar[],
  path: string,
): (actual: unknown) => boolean {
  const texts = wanted.map((item) => String(item).toLowerCase());
  switch (modifier) {
    case null: {
      // A string or number matches a value by its text, case aside (true matches "true"); null matches a missing
      // value; anything else only the very same value.
      const matchable = new Set(wanted.filter((item) => item !== null).map((item) => String(item).toLowerCase()));
      const wantsMissing = wanted.includes(null);
      // Answers by text, for the few texts a field like dataset or outcome takes: lower-casing each event's value
      // made a new string per test. Emptied when full, so a field of many values costs a bounded memory.
      const answers = new Map<string | number, boolean>();
      return (actual) => {
        // Numbers too: a rule that lists entity-change blocks tests every sign-in's class_uid against each.
        if (typeof actual === 'string' || typeof actual === 'number') {
          let answer = answers.get(actual);
          if (answer === undefined) {
            answer = matchable.has(String(actual).toLowerCase());
            if (answers.size >= MAX_REMEMBERED_ANSWERS) answers.clear();
            answers.set(actual, answer);
          }
          return answer;
        }
        if (actual === null || actual === undefined) return wantsMissing;
        return wanted.includes(actual as Scalar);
      };
    }
    case 'contains':
      return (actual) => someText(texts, actual, (lower, text) => lower.includes(text));
    case 'startswith':
      return (actual) => someText(texts, actual, (lower, text) => lower.startsWith(text));
    case 'endswith':
      return (actual) => someText(texts, actual, (lower, text) => lower.endsWith(text));
    case 're': {
      const patterns = wanted.map((item) => {
        try {
          return new RegExp(String(item), 'iu');
        } catch (error) {
          throw new RuleProblem(
            path,
            `"${String(item)}" is not a valid regular expression: ${(error as Error).message}`,
          );
        }
      });
      return (actual) => typeof actual === 'string' && patterns.some((pattern) => pattern.test(actual));
    }
    case 'cidr': {
      const ranges: IpRange[] = wanted.map((item) => {
        const range = typeof item === 'string' ? parseIpRange(item) : null;
        if (range === null) throw new RuleProblem(path, `"${String(item)}" is not an address or CIDR range`);
        return range;
      });
      return (actual) => {
        if (typeof actual !== 'string') return false;
        const bytes = ipBytes(actual);
        return bytes !== null && ranges.some((range) => inRange(bytes, range));
      };
    }
  }
}
