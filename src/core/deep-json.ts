/**
 * JSON values nested too deeply for the recursive code that handles them everywhere else: `JSON.stringify`,
 * structured clone and rendering all overflow the stack somewhere past a few thousand levels, which a record
 * parsed from an API answer may reach (`JSON.parse` itself does not overflow).
 */

/** Nesting beyond which a record is kept as its JSON text rather than as a value; real records are a few deep. */
export const MAX_VALUE_DEPTH = 200;

/** Whether `value` holds objects or arrays nested more than `maxDepth` levels deep. Walks without recursion. */
export function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const pending: [object, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [container, depth] = next;
    if (depth > maxDepth) return true;
    const items = Array.isArray(container) ? container : Object.values(container);
    for (const item of items) {
      if (item !== null && typeof item === 'object') pending.push([item as object, depth + 1]);
    }
  }
  return false;
}

/**
 * The text `JSON.stringify(value)` gives for a parsed JSON value, written without recursion, so that a value of
 * any depth has one.
 */
export function jsonTextOf(value: unknown): string {
  const parts: string[] = [];
  // Each frame is an open array or object and how far its members have been written.
  const frames: { readonly items: readonly [string | null, unknown][]; index: number; readonly close: string }[] = [];
  const open = (item: unknown, key: string | null): void => {
    if (key !== null) parts.push(`${JSON.stringify(key)}:`);
    if (item === null || typeof item !== 'object') {
      parts.push(primitiveText(item));
      return;
    }
    if (Array.isArray(item)) {
      parts.push('[');
      frames.push({ items: item.map((member: unknown) => [null, member]), index: 0, close: ']' });
      return;
    }
    parts.push('{');
    const members = Object.entries(item).filter(([, member]) => member !== undefined && typeof member !== 'function');
    frames.push({ items: members, index: 0, close: '}' });
  };
  open(value, null);
  for (let frame = frames.at(-1); frame !== undefined; frame = frames.at(-1)) {
    if (frame.index === frame.items.length) {
      parts.push(frame.close);
      frames.pop();
      continue;
    }
    const [key, member] = frame.items[frame.index] as [string | null, unknown];
    if (frame.index > 0) parts.push(',');
    frame.index += 1;
    open(member, key);
  }
  return parts.join('');
}

function primitiveText(value: unknown): string {
  // Inside an array, JSON.stringify writes null for what JSON cannot hold; a parsed value holds none of it.
  return JSON.stringify(value) ?? 'null';
}
