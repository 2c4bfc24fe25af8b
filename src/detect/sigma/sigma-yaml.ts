import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Node as YamlNode } from 'yaml';

/** A position in the rule file, 1-based. */
export interface SigmaPosition {
  readonly line: number;
  readonly column: number;
}

export interface SigmaEntry {
  readonly key: string;
  readonly at: SigmaPosition;
  readonly value: SigmaNode;
}

/**
 * The rule file as plain data with positions. Scalars keep the text the author wrote for numbers and booleans
 * because Sigma compares every value as a string: `0x17` stays `0x17` instead of becoming 23.
 */
export type SigmaNode =
  | { readonly kind: 'map'; readonly entries: readonly SigmaEntry[]; readonly at: SigmaPosition }
  | { readonly kind: 'seq'; readonly items: readonly SigmaNode[]; readonly at: SigmaPosition }
  | {
      readonly kind: 'scalar';
      readonly type: 'string' | 'number' | 'boolean' | 'null';
      /** The value as text; null only for a YAML null. */
      readonly text: string | null;
      readonly at: SigmaPosition;
    };

/** Why the text is not one readable YAML document, with where; the caller turns it into a rule error. */
export interface SigmaYamlProblem {
  readonly problem: string;
  readonly feature: string;
  readonly at?: SigmaPosition;
}

/** Parses one Sigma rule file; a problem comes back instead of a tree when it is not a single plain document. */
export function parseSigmaYaml(text: string): SigmaNode | SigmaYamlProblem {
  const lines = new LineCounter();
  // YAML 1.2 core schema (the package default): `yes`, `on` and dates stay strings, as Sigma authors expect.
  const documents = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(documents)) {
    return { problem: 'the file holds no YAML document', feature: 'empty file' };
  }
  const position = (offset: number): SigmaPosition => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  for (const document of documents) {
    const error = document.errors[0];
    if (error !== undefined) {
      return {
        problem: `the YAML does not parse: ${firstLine(error.message)}`,
        feature: 'YAML syntax',
        at: position(error.pos[0]),
      };
    }
  }
  const [first, second] = documents;
  if (first === undefined || first.contents === null) {
    return { problem: 'the file holds no YAML document', feature: 'empty file' };
  }
  if (second !== undefined) {
    return {
      problem:
        'the file holds several YAML documents (a Sigma rule collection); zerotrail loads one rule per file, so split it',
      feature: 'rule collection',
      at: position(second.range[0]),
    };
  }
  return convert(first.contents, position);
}

export function isYamlProblem(value: SigmaNode | SigmaYamlProblem): value is SigmaYamlProblem {
  return 'problem' in value;
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}

class YamlRefusal extends Error {
  constructor(readonly problem: SigmaYamlProblem) {
    super(problem.problem);
  }
}

function convert(root: YamlNode, position: (offset: number) => SigmaPosition): SigmaNode | SigmaYamlProblem {
  const walk = (node: unknown): SigmaNode => {
    const at = position(rangeStart(node));
    if (isAlias(node)) {
      throw new YamlRefusal({
        problem: 'YAML aliases (*name) are not supported; write the value out',
        feature: 'YAML alias',
        at,
      });
    }
    if (isMap(node)) {
      const entries: SigmaEntry[] = [];
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        const keyAt = position(rangeStart(key));
        if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
          throw new YamlRefusal({ problem: 'a key must be plain text', feature: 'YAML complex key', at: keyAt });
        }
        const keyText = typeof key.value === 'string' ? key.value : (key.source ?? String(key.value));
        const value: SigmaNode =
          pair.value === null || pair.value === undefined
            ? { kind: 'scalar', type: 'null', text: null, at: keyAt }
            : walk(pair.value);
        entries.push({ key: keyText, at: keyAt, value });
      }
      return { kind: 'map', entries, at };
    }
    if (isSeq(node)) return { kind: 'seq', items: node.items.map((item) => walk(item)), at };
    if (isScalar(node)) {
      const value = node.value;
      if (value === null || value === undefined) return { kind: 'scalar', type: 'null', text: null, at };
      if (typeof value === 'string') {
        // A quoted string's text starts one column after its quote, which is where `at` points.
        const quoted = node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE';
        return { kind: 'scalar', type: 'string', text: value, at: quoted ? { ...at, column: at.column + 1 } : at };
      }
      if (typeof value === 'number' || typeof value === 'bigint') {
        return { kind: 'scalar', type: 'number', text: node.source ?? String(value), at };
      }
      if (typeof value === 'boolean') return { kind: 'scalar', type: 'boolean', text: String(value), at };
    }
    throw new YamlRefusal({
      problem: 'this value is neither text, a number, a boolean, null, a list nor a map',
      feature: 'YAML value type',
      at,
    });
  };
  try {
    return walk(root);
  } catch (error) {
    if (error instanceof YamlRefusal) return error.problem;
    throw error;
  }
}

function rangeStart(node: unknown): number {
  const range = (node as { range?: readonly number[] | null } | null)?.range;
  return range?.[0] ?? 0;
}
