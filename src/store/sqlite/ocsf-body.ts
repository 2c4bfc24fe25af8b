import type { SharedText } from '../../core/event.js';

/**
 * How the OCSF JSON of an event is stored. Enrichment gives every event of one user, app and IdP the very
 * same frozen enrichment objects, about half of the JSON text. When `enrichments` is the last member and every
 * item is such a value, the body keeps the JSON of the rest and the enrichments text is stored once in
 * `event_fragments` (migration 0005). The text every event of a kind begins with, its head (migration 0014), is
 * stored there once too. Joining the three gives back exactly the text `JSON.stringify` writes.
 */
export interface OcsfBody {
  /** The text the JSON begins with, kept apart, or null when `text` begins the JSON itself. */
  readonly head: SharedText | null;
  /** The JSON of the event's OCSF, less its head and, when `enrichments` is set, its trailing `enrichments`. */
  readonly text: string;
  readonly enrichments: SharedText | null;
}

/**
 * The body of `ocsf`. `head` is the event's hint (NormalizedEvent.ocsfHead): it is kept apart only when the JSON
 * does begin with it, so a wrong hint costs the saving and nothing else.
 */
export function ocsfBody(ocsf: Readonly<Record<string, unknown>>, head?: SharedText): OcsfBody {
  const enrichments = sharedEnrichments(ocsf);
  let text: string;
  if (enrichments === null) {
    text = JSON.stringify(ocsf);
  } else {
    // A copy built member by member stays a fast object; a spread copy with a member deleted took JSON.stringify
    // about half as long again.
    const rest: Record<string, unknown> = {};
    for (const key in ocsf) if (key !== 'enrichments' && Object.hasOwn(ocsf, key)) rest[key] = ocsf[key];
    text = JSON.stringify(rest);
  }
  // A slice compared with === instead of startsWith: V8 compares two flat strings at memory speed, while
  // startsWith walked the ~450 characters of a head one by one, about 3 µs per event.
  if (head !== undefined && text.slice(0, head.text.length) === head.text) {
    return { head, text: text.slice(head.text.length), enrichments };
  }
  return { head: null, text, enrichments };
}

/** The full OCSF JSON text of a stored body; `text` already begins with its head (see BODY_COLUMNS). */
export function joinOcsfBody(text: string, enrichments: string | null): string {
  if (enrichments === null) return text;
  return `${text.slice(0, -1)}${text === '{}' ? '' : ','}"enrichments":${enrichments}}`;
}

// A node per prefix of a sequence of items: the JSON of the prefix without its closing bracket, and the
// nodes of its longer sequences by their next item. Weakly held, so sequences go with their objects.
interface SequenceNode extends SharedText {
  readonly open: string;
  readonly next: WeakMap<object, SequenceNode>;
}

const FIRST_ITEMS = new WeakMap<object, SequenceNode>();

// The enrichments text when it can be stored apart: the last own member, an array of deeply frozen plain
// objects whose JSON is known. null otherwise, and the body keeps the whole text.
function sharedEnrichments(ocsf: Readonly<Record<string, unknown>>): SharedText | null {
  const items = ocsf['enrichments'];
  if (!Array.isArray(items) || items.length === 0 || Object.getPrototypeOf(ocsf) !== Object.prototype) return null;
  const keys = Object.keys(ocsf);
  if (keys[keys.length - 1] !== 'enrichments' || typeof (ocsf as { toJSON?: unknown }).toJSON === 'function') {
    return null;
  }
  let level = FIRST_ITEMS;
  let node: SequenceNode | undefined;
  for (const item of items as unknown[]) {
    if (typeof item !== 'object' || item === null) return null;
    let child = level.get(item);
    if (child === undefined) {
      const json = frozenJson(item);
      if (json === null) return null;
      const open = node === undefined ? `[${json}` : `${node.open},${json}`;
      child = { open, text: `${open}]`, next: new WeakMap() };
      level.set(item, child);
    }
    node = child;
    level = child.next;
  }
  return node ?? null;
}

// Texts of deeply frozen plain values, computed once; null marks a value that does not qualify.
const FROZEN_TEXTS = new WeakMap<object, string | null>();
const MAX_CHECK_DEPTH = 64;

function frozenJson(value: object): string | null {
  if (!Object.isFrozen(value)) return null;
  let text = FROZEN_TEXTS.get(value);
  if (text === undefined) {
    text = isDeeplyFrozenData(value, 0) ? (JSON.stringify(value) ?? null) : null;
    FROZEN_TEXTS.set(value, text);
  }
  return text;
}

// Frozen all the way down, only plain objects and arrays, only data properties and no functions: nothing
// can make its JSON text differ from one call to the next.
function isDeeplyFrozenData(value: object, depth: number): boolean {
  if (depth > MAX_CHECK_DEPTH || !Object.isFrozen(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== Array.prototype && prototype !== null) return false;
  for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(value))) {
    if (!('value' in descriptor)) return false;
    const item: unknown = descriptor.value;
    if (typeof item === 'function' || typeof item === 'bigint' || typeof item === 'symbol') return false;
    if (typeof item === 'object' && item !== null && !isDeeplyFrozenData(item, depth + 1)) return false;
  }
  return true;
}
