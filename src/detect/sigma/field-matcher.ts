import type { NormalizedEvent } from '../../core/event.js';
import { mapIpv4, parseIpv4Bytes, parseIpv6Bytes } from '../../core/ip-address.js';
import type { SigmaField } from './sigma-fields.js';
import type { SigmaPosition } from './sigma-yaml.js';

/** The modifiers zerotrail implements, as Sigma names them. */
export const SUPPORTED_MODIFIERS = [
  'contains',
  'startswith',
  'endswith',
  're',
  'cidr',
  'all',
  'cased',
  'exists',
] as const;
/** Sub-modifiers of `re`. */
const RE_FLAGS = ['i', 'm', 's'] as const;
// Modifiers of the Sigma specification (rules 2.x, modifiers appendix 2.1) that zerotrail does not implement.
const KNOWN_UNSUPPORTED = new Set([
  'base64',
  'base64offset',
  'utf16',
  'utf16le',
  'utf16be',
  'wide',
  'windash',
  'lt',
  'lte',
  'gt',
  'gte',
  'neq',
  'fieldref',
  'expand',
  'minute',
  'hour',
  'day',
  'week',
  'month',
  'year',
]);

/** One value of a field condition, as written in the rule. */
export interface SigmaValue {
  /** Text of the value; null for YAML null. */
  readonly text: string | null;
  readonly type: 'string' | 'number' | 'boolean' | 'null';
  readonly at: SigmaPosition;
}

/** A refusal while compiling one field condition; `at` is the key or the value it is about. */
export class FieldRefusal extends Error {
  override name = 'FieldRefusal' as const;
  constructor(
    readonly feature: string,
    readonly what: string,
    readonly at: SigmaPosition | null,
  ) {
    super(what);
  }
}

export type EventPredicate = (event: NormalizedEvent) => boolean;

type Operator = 'equals' | 'contains' | 'startswith' | 'endswith' | 're' | 'cidr' | 'exists';

/**
 * Compiles `field|mod1|mod2: value(s)` into a predicate over events. Values of a list are ORed, or ANDed with
 * `all`; a field whose event value is a list matches when any element does. Strings compare case-insensitively
 * unless `cased`; `*` and `?` are wildcards in every string except a regular expression or a CIDR block.
 * Throws FieldRefusal for anything it does not implement or cannot read.
 */
export function compileFieldMatcher(
  field: SigmaField,
  modifiers: readonly string[],
  values: readonly SigmaValue[],
  keyAt: SigmaPosition,
): EventPredicate {
  let operator: Operator = 'equals';
  let all = false;
  let cased = false;
  const reFlags = new Set<string>();
  for (const modifier of modifiers) {
    if ((RE_FLAGS as readonly string[]).includes(modifier)) {
      if (operator !== 're') {
        throw new FieldRefusal(
          `modifier ${modifier}`,
          `the modifier "${modifier}" is a sub-modifier of "re" and must follow it (${field.name}|re|${modifier})`,
          keyAt,
        );
      }
      reFlags.add(modifier);
      continue;
    }
    switch (modifier) {
      case 'all':
        all = true;
        break;
      case 'cased':
        cased = true;
        break;
      case 'contains':
      case 'startswith':
      case 'endswith':
      case 're':
      case 'cidr':
      case 'exists':
        if (operator !== 'equals') {
          throw new FieldRefusal(
            `modifier ${modifier}`,
            `the modifiers "${operator}" and "${modifier}" cannot be combined; use one of contains, startswith, endswith, re, cidr, exists per field`,
            keyAt,
          );
        }
        operator = modifier;
        break;
      case '':
        throw new FieldRefusal('empty modifier', `"${field.name}" has an empty modifier (two | in a row)`, keyAt);
      default:
        if (KNOWN_UNSUPPORTED.has(modifier)) {
          throw new FieldRefusal(
            `modifier ${modifier}`,
            `the modifier "${modifier}" is not supported; zerotrail supports ${SUPPORTED_MODIFIERS.join(', ')} (and i, m, s after re)`,
            keyAt,
          );
        }
        throw new FieldRefusal(
          `modifier ${modifier}`,
          `"${modifier}" is not a Sigma modifier; zerotrail supports ${SUPPORTED_MODIFIERS.join(', ')} (and i, m, s after re)`,
          keyAt,
        );
    }
  }
  if (values.length === 0) {
    throw new FieldRefusal('empty value list', `"${field.name}" has an empty list of values`, keyAt);
  }
  if (all && values.length === 1) {
    throw new FieldRefusal(
      'modifier all',
      'the modifier "all" needs a list of two or more values (the Sigma specification forbids it on a single value)',
      keyAt,
    );
  }
  if (cased && (operator === 're' || operator === 'cidr' || operator === 'exists')) {
    throw new FieldRefusal(
      'modifier cased',
      operator === 're'
        ? 'the modifier "cased" cannot be combined with "re": a regular expression is case-sensitive already (use re|i for the opposite)'
        : `the modifier "cased" cannot be combined with "${operator}"`,
      keyAt,
    );
  }

  if (operator === 'exists') return existsMatcher(field, modifiers, values, keyAt);

  const tests = values.map((value) => compileValue(field, operator, value, { cased, reFlags }, all));
  const read = field.read;
  if (all) {
    return (event) => {
      const candidates = candidatesOf(read(event));
      return tests.every((test) => test(candidates));
    };
  }
  if (tests.length === 1) {
    const [test] = tests as [ValueTest];
    return (event) => test(candidatesOf(read(event)));
  }
  return (event) => {
    const candidates = candidatesOf(read(event));
    return tests.some((test) => test(candidates));
  };
}

/** What a test receives: the event's value(s), undefined and null included, as a list. */
type Candidates = readonly unknown[];
type ValueTest = (candidates: Candidates) => boolean;

function candidatesOf(value: unknown): Candidates {
  return Array.isArray(value) ? (value as unknown[]) : [value];
}

function existsMatcher(
  field: SigmaField,
  modifiers: readonly string[],
  values: readonly SigmaValue[],
  keyAt: SigmaPosition,
): EventPredicate {
  if (modifiers.length !== 1) {
    throw new FieldRefusal('modifier exists', 'the modifier "exists" cannot be combined with other modifiers', keyAt);
  }
  const [value] = values;
  if (values.length !== 1 || value === undefined || value.type !== 'boolean') {
    throw new FieldRefusal('modifier exists', `"${field.name}|exists" takes true or false`, value?.at ?? keyAt);
  }
  const wanted = value.text === 'true';
  const read = field.read;
  // A flat field holds null for "not known"; a path exists whenever its key does.
  const present = field.flat
    ? (event: NormalizedEvent) => {
        const found = read(event);
        return found !== null && found !== undefined;
      }
    : (event: NormalizedEvent) => read(event) !== undefined;
  return (event) => present(event) === wanted;
}

interface ValueOptions {
  readonly cased: boolean;
  readonly reFlags: ReadonlySet<string>;
}

function compileValue(
  field: SigmaField,
  operator: Exclude<Operator, 'exists'>,
  value: SigmaValue,
  options: ValueOptions,
  all: boolean,
): ValueTest {
  if (value.text === null) {
    if (operator !== 'equals' || options.cased) {
      throw new FieldRefusal(
        'null value',
        `null cannot be combined with the modifier "${operator === 'equals' ? 'cased' : operator}"; write "${field.name}: null" in a selection of its own`,
        value.at,
      );
    }
    if (all) {
      throw new FieldRefusal('null value', 'null cannot be one of the values of "all"', value.at);
    }
    return (candidates) => candidates.every(isAbsent);
  }
  if (operator === 're') return regexTest(value, options.reFlags);
  if (operator === 'cidr') return cidrTest(value);
  // Lower-casing the rule's text leaves the backslashes and wildcards as they are.
  const fold = options.cased ? (text: string) => text : (text: string) => text.toLowerCase();
  const tokens = wildcardTokens(fold(value.text));
  if (operator === 'contains' || operator === 'endswith') tokens.unshift(ANY);
  if (operator === 'contains' || operator === 'startswith') tokens.push(ANY);
  const literal = tokens.every((token) => typeof token === 'string') ? tokens.join('') : null;
  return (candidates) =>
    candidates.some((candidate) => {
      const text = textOf(candidate);
      if (text === null) return false;
      return literal !== null ? fold(text) === literal : globMatches(tokens, Array.from(fold(text)));
    });
}

/**
 * Whether `text` (code points) matches the tokens. Backtracks only to the last `*`, so the time is at most
 * the product of the two lengths: a rule with many wildcards cannot stall evaluation the way a regular
 * expression built from it could on a long value.
 */
export function globMatches(tokens: readonly Token[], text: readonly string[]): boolean {
  let at = 0;
  let index = 0;
  let starAt = -1;
  let starIndex = 0;
  while (index < text.length) {
    const token = tokens[at];
    if (token !== undefined && (token === ONE || token === text[index])) {
      at += 1;
      index += 1;
    } else if (token === ANY) {
      starAt = at;
      starIndex = index;
      at += 1;
    } else if (starAt !== -1) {
      at = starAt + 1;
      starIndex += 1;
      index = starIndex;
    } else {
      return false;
    }
  }
  while (tokens[at] === ANY) at += 1;
  return at === tokens.length;
}

function isAbsent(candidate: unknown): boolean {
  return candidate === undefined || candidate === null;
}

/** Sigma compares values as text: numbers and booleans by their written form; objects never match a string. */
function textOf(candidate: unknown): string | null {
  switch (typeof candidate) {
    case 'string':
      return candidate;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(candidate);
    default:
      return null;
  }
}

const ANY = { wildcard: '*' } as const;
const ONE = { wildcard: '?' } as const;
export type Token = string | typeof ANY | typeof ONE;

/**
 * Splits a Sigma string into literal characters and wildcards. A backslash escapes `*`, `?` and itself; before
 * any other character it is a plain backslash (Sigma rules specification 2.0, Escaping).
 */
export function wildcardTokens(text: string): Token[] {
  const tokens: Token[] = [];
  // By code point, so `?` is one character even outside the Basic Multilingual Plane.
  const chars = Array.from(text);
  for (let index = 0; index < chars.length; index += 1) {
    const char = chars[index] ?? '';
    if (char === '\\') {
      const next = chars[index + 1];
      if (next === '*' || next === '?' || next === '\\') {
        tokens.push(next);
        index += 1;
      } else {
        tokens.push('\\');
      }
    } else if (char === '*') {
      tokens.push(ANY);
    } else if (char === '?') {
      tokens.push(ONE);
    } else {
      tokens.push(char);
    }
  }
  return tokens;
}

function regexTest(value: SigmaValue, flags: ReadonlySet<string>): ValueTest {
  const source = value.text ?? '';
  const outside = outsideFlavour(source);
  if (outside !== null) {
    throw new FieldRefusal(
      'modifier re',
      `${JSON.stringify(source)} uses ${outside}, which Sigma's regular expression flavour does not have (it has . ^ $ * + ? {n,m} [...] (...) |)`,
      value.at,
    );
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(source, [...flags].sort().join(''));
  } catch (error) {
    const inline = /^\(\?[a-z]+\)/.test(source)
      ? '; inline flags such as (?i) do not exist here, use the sub-modifiers re|i, re|m, re|s'
      : '';
    throw new FieldRefusal(
      'modifier re',
      `${JSON.stringify(source)} is not a valid regular expression: ${(error as Error).message}${inline}`,
      value.at,
    );
  }
  // Searched anywhere in the value, as PCRE does; anchor with ^ and $ to match the whole value.
  return (candidates) =>
    candidates.some((candidate) => {
      const text = textOf(candidate);
      return text !== null && pattern.test(text);
    });
}

/**
 * The first construct outside Sigma's regular expression flavour (modifiers appendix 2.1) that backends read
 * differently or that can make matching slow: lookaround, backreferences and named groups. Escapes such as
 * `\d` and non-capturing groups stay allowed; they are common in shared rules and mean the same everywhere.
 */
function outsideFlavour(source: string): string | null {
  let inClass = false;
  for (let index = 0; index < source.length; index += 1) {
    const char = source[index];
    if (char === '\\') {
      const next = source[index + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || next === 'k')) return 'a backreference';
      index += 1;
    } else if (inClass) {
      if (char === ']') inClass = false;
    } else if (char === '[') {
      inClass = true;
    } else if (char === '(' && source[index + 1] === '?') {
      const rest = source.slice(index + 2, index + 4);
      if (rest.startsWith('=') || rest.startsWith('!') || rest === '<=' || rest === '<!') return 'a lookaround';
      if (rest.startsWith('<') || rest.startsWith('P')) return 'a named group';
    }
  }
  return null;
}

interface CidrBlock {
  readonly bytes: Uint8Array;
  readonly bits: number;
}

/** Parses `address/prefix` (or a bare address, a block of one) into 16 bytes, IPv4 mapped into IPv6. */
export function parseCidr(text: string): CidrBlock | null {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? null : text.slice(slash + 1);
  const v4 = address.includes(':') ? null : parseIpv4Bytes(address);
  const bytes = v4 !== null ? mapIpv4(v4) : address.includes(':') ? parseIpv6Bytes(address, 'refuse') : null;
  if (bytes === null) return null;
  const max = v4 !== null ? 32 : 128;
  if (prefixText !== null && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === null ? max : Number(prefixText);
  if (prefix > max) return null;
  return { bytes, bits: v4 !== null ? prefix + 96 : prefix };
}

function ipBytes(text: string): Uint8Array | null {
  if (text.includes(':')) return parseIpv6Bytes(text, 'strip');
  const v4 = parseIpv4Bytes(text);
  return v4 === null ? null : mapIpv4(v4);
}

export function inCidr(block: CidrBlock, address: Uint8Array): boolean {
  const whole = block.bits >> 3;
  for (let index = 0; index < whole; index += 1) {
    if (block.bytes[index] !== address[index]) return false;
  }
  const rest = block.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((block.bytes[whole] ?? 0) & mask) === ((address[whole] ?? 0) & mask);
}

function cidrTest(value: SigmaValue): ValueTest {
  const text = value.text ?? '';
  const block = value.type === 'string' ? parseCidr(text.trim()) : null;
  if (block === null) {
    throw new FieldRefusal(
      'modifier cidr',
      `${JSON.stringify(text)} is not a CIDR block such as 192.0.2.0/24 or 2001:db8::/32`,
      value.at,
    );
  }
  return (candidates) =>
    candidates.some((candidate) => {
      if (typeof candidate !== 'string') return false;
      const address = ipBytes(candidate);
      return address !== null && inCidr(block, address);
    });
}
