/** A search expression of a Sigma `condition`. */
export type ConditionNode =
  | { readonly kind: 'and' | 'or'; readonly operands: readonly ConditionNode[] }
  | { readonly kind: 'not'; readonly operand: ConditionNode }
  | { readonly kind: 'ref'; readonly name: string; readonly column: number }
  /** `1 of pattern`, `all of pattern`; `them` is every search identifier not starting with `_`. */
  | {
      readonly kind: 'of';
      readonly quantifier: 'one' | 'all';
      readonly pattern: string;
      readonly column: number;
    };

export const AGGREGATION_OPERATORS = ['>', '>=', '<', '<=', '=='] as const;
export type AggregationOperator = (typeof AGGREGATION_OPERATORS)[number];

/** `count([field]) [by group, …] op threshold`, the pipe aggregation of Sigma 1.0. */
export interface ConditionAggregation {
  /** Counts distinct values of this field; null counts events. */
  readonly distinctField: string | null;
  readonly groupBy: readonly string[];
  readonly operator: AggregationOperator;
  readonly threshold: number;
  /** Column (1-based) of each field name in the condition, for messages about them. */
  readonly columns: Readonly<Record<string, number>>;
}

export interface ParsedCondition {
  readonly expression: ConditionNode;
  readonly aggregation: ConditionAggregation | null;
}

/** A condition that does not parse or uses what zerotrail does not implement; `column` is 1-based. */
export class ConditionRefusal extends Error {
  override name = 'ConditionRefusal' as const;
  constructor(
    readonly feature: string,
    readonly what: string,
    readonly column: number,
  ) {
    super(what);
  }
}

interface Token {
  readonly text: string;
  /** 0-based offset in the condition. */
  readonly at: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them', 'all', 'any', '1', 'near']);
const IDENTIFIER = /^[A-Za-z0-9_*.-]+$/;

/** Whether a search identifier name can be written in a condition without clashing with its keywords. */
export function isUsableIdentifier(name: string): boolean {
  return IDENTIFIER.test(name) && !name.includes('*') && !KEYWORDS.has(name.toLowerCase());
}

/**
 * Parses a condition. Precedence, loosest first: `|`, `or`, `and`, `not`, `x of`, parentheses (Sigma 1.0 and
 * 2.0 specifications). Keywords are case-insensitive; identifiers are not.
 */
export function parseSigmaCondition(condition: string): ParsedCondition {
  const pipe = condition.indexOf('|');
  const searchText = pipe === -1 ? condition : condition.slice(0, pipe);
  const tokens = tokenize(searchText);
  if (tokens.length === 0) {
    throw new ConditionRefusal(
      'condition',
      pipe === -1 ? 'the condition is empty' : 'an aggregation needs a search expression before "|"',
      1,
    );
  }
  const parser = new SearchParser(tokens, searchText.length);
  const expression = parser.parse();
  const aggregation = pipe === -1 ? null : parseAggregation(condition, pipe + 1);
  return { expression, aggregation };
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\(|\)|[^\s()]+/g;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    tokens.push({ text: match[0], at: match.index });
  }
  return tokens;
}

class SearchParser {
  readonly #tokens: readonly Token[];
  readonly #end: number;
  #index = 0;

  constructor(tokens: readonly Token[], end: number) {
    this.#tokens = tokens;
    this.#end = end;
  }

  parse(): ConditionNode {
    const node = this.#or();
    const extra = this.#peek();
    if (extra !== undefined) {
      throw new ConditionRefusal(
        'condition syntax',
        extra.text === ')'
          ? 'this ")" has no matching "("'
          : `expected "and", "or" or the end of the condition before "${extra.text}"`,
        extra.at + 1,
      );
    }
    return node;
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#index];
  }

  #isKeyword(token: Token | undefined, keyword: string): boolean {
    return token !== undefined && token.text.toLowerCase() === keyword;
  }

  #or(): ConditionNode {
    const operands = [this.#and()];
    while (this.#isKeyword(this.#peek(), 'or')) {
      this.#index += 1;
      operands.push(this.#and());
    }
    return operands.length === 1 ? (operands[0] as ConditionNode) : { kind: 'or', operands };
  }

  #and(): ConditionNode {
    const operands = [this.#not()];
    while (this.#isKeyword(this.#peek(), 'and')) {
      this.#index += 1;
      operands.push(this.#not());
    }
    return operands.length === 1 ? (operands[0] as ConditionNode) : { kind: 'and', operands };
  }

  #not(): ConditionNode {
    if (this.#isKeyword(this.#peek(), 'not')) {
      this.#index += 1;
      return { kind: 'not', operand: this.#not() };
    }
    return this.#primary();
  }

  #primary(): ConditionNode {
    const token = this.#peek();
    if (token === undefined) {
      const previous = this.#tokens[this.#index - 1];
      throw new ConditionRefusal(
        'condition syntax',
        previous === undefined
          ? 'the condition is empty'
          : `the condition ends after "${previous.text}"; a search identifier is missing`,
        this.#end + 1,
      );
    }
    this.#index += 1;
    if (token.text === '(') {
      const inner = this.#or();
      const close = this.#peek();
      if (close?.text !== ')') {
        throw new ConditionRefusal(
          'condition syntax',
          `the "(" at column ${token.at + 1} is not closed`,
          (close?.at ?? this.#end) + 1,
        );
      }
      this.#index += 1;
      return inner;
    }
    if (this.#isKeyword(this.#peek(), 'of')) return this.#quantified(token);
    const lower = token.text.toLowerCase();
    if (lower === 'near') {
      throw new ConditionRefusal('near', '"near" (temporal proximity) is not supported', token.at + 1);
    }
    if (token.text === ')' || KEYWORDS.has(lower)) {
      throw new ConditionRefusal(
        'condition syntax',
        `expected a search identifier, found "${token.text}"`,
        token.at + 1,
      );
    }
    if (!IDENTIFIER.test(token.text) || token.text.includes('*')) {
      throw new ConditionRefusal(
        'condition syntax',
        token.text.includes('*')
          ? `"${token.text}" is a pattern; write "1 of ${token.text}" or "all of ${token.text}"`
          : `"${token.text}" is not a search identifier`,
        token.at + 1,
      );
    }
    return { kind: 'ref', name: token.text, column: token.at + 1 };
  }

  #quantified(quantifier: Token): ConditionNode {
    this.#index += 1; // `of`
    const lower = quantifier.text.toLowerCase();
    let kind: 'one' | 'all';
    if (lower === '1' || lower === 'any') kind = 'one';
    else if (lower === 'all') kind = 'all';
    else if (/^\d+$/.test(lower)) {
      throw new ConditionRefusal(
        `${quantifier.text} of`,
        `"${quantifier.text} of" is not supported; use "1 of" or "all of"`,
        quantifier.at + 1,
      );
    } else {
      throw new ConditionRefusal(
        'condition syntax',
        `"${quantifier.text} of" is not a quantifier; use "1 of" or "all of"`,
        quantifier.at + 1,
      );
    }
    const target = this.#peek();
    if (target === undefined || target.text === '(' || target.text === ')') {
      throw new ConditionRefusal(
        'condition syntax',
        `"${quantifier.text} of" needs a search identifier pattern or "them"`,
        (target?.at ?? this.#end) + 1,
      );
    }
    this.#index += 1;
    const targetLower = target.text.toLowerCase();
    if (targetLower === 'them') return { kind: 'of', quantifier: kind, pattern: 'them', column: quantifier.at + 1 };
    if (!IDENTIFIER.test(target.text) || KEYWORDS.has(targetLower)) {
      throw new ConditionRefusal(
        'condition syntax',
        `"${target.text}" is not a search identifier pattern`,
        target.at + 1,
      );
    }
    return { kind: 'of', quantifier: kind, pattern: target.text, column: quantifier.at + 1 };
  }
}

const OTHER_FUNCTIONS = new Set(['min', 'max', 'avg', 'sum']);
const FIELD = /[A-Za-z_][A-Za-z0-9_.]*/y;

/** Parses what follows `|`; `start` is its offset in the whole condition. */
function parseAggregation(condition: string, start: number): ConditionAggregation {
  let at = start;
  const skip = (): void => {
    while (at < condition.length && /\s/.test(condition[at] ?? '')) at += 1;
  };
  const refuse = (feature: string, what: string, offset = at): never => {
    throw new ConditionRefusal(feature, what, offset + 1);
  };
  const word = (): string | null => {
    FIELD.lastIndex = at;
    const match = FIELD.exec(condition);
    if (match === null) return null;
    at += match[0].length;
    return match[0];
  };
  const columns: Record<string, number> = {};

  skip();
  const functionAt = at;
  const name = word();
  if (name === null) refuse('aggregation', 'expected an aggregation such as "count() by src_ip > 20" after "|"');
  const lowerName = (name as string).toLowerCase();
  if (lowerName === 'near') refuse('near', '"near" (temporal proximity) is not supported', functionAt);
  if (OTHER_FUNCTIONS.has(lowerName)) {
    refuse(
      `aggregation ${lowerName}`,
      `the aggregation function "${name}" is not supported; only count() is`,
      functionAt,
    );
  }
  if (lowerName !== 'count') refuse('aggregation', `"${name}" is not an aggregation function; use count()`, functionAt);
  skip();
  if (condition[at] !== '(') refuse('aggregation', 'expected "(" after count');
  at += 1;
  skip();
  let distinctField: string | null = null;
  if (condition[at] !== ')') {
    const fieldAt = at;
    distinctField = word();
    if (distinctField === null) refuse('aggregation', 'expected a field name or ")" in count(...)');
    columns[distinctField as string] = fieldAt + 1;
    skip();
    if (condition[at] !== ')') refuse('aggregation', 'count() takes at most one field');
  }
  at += 1;
  skip();
  const groupBy: string[] = [];
  const byAt = at;
  const maybeBy = word();
  if (maybeBy !== null) {
    if (maybeBy.toLowerCase() !== 'by')
      refuse('aggregation', `expected "by" or a comparison, found "${maybeBy}"`, byAt);
    for (;;) {
      skip();
      const fieldAt = at;
      const field = word();
      if (field === null) refuse('aggregation', 'expected a field name after "by"');
      groupBy.push(field as string);
      columns[field as string] ??= fieldAt + 1;
      skip();
      if (condition[at] !== ',') break;
      at += 1;
    }
  }
  skip();
  const operatorMatch = /^(>=|<=|==|=|>|<|!=)/.exec(condition.slice(at));
  if (operatorMatch === null) {
    refuse('aggregation', 'expected a comparison (>, >=, <, <=, ==) and a number, as in "count() by src_ip > 20"');
  }
  const operatorText = (operatorMatch as RegExpExecArray)[0];
  if (operatorText === '!=') refuse('aggregation !=', 'the comparison "!=" is not supported; use >, >=, <, <= or ==');
  at += operatorText.length;
  skip();
  const numberMatch = /^\d+/.exec(condition.slice(at));
  if (numberMatch === null) refuse('aggregation', `expected a whole number after "${operatorText}"`);
  const threshold = Number((numberMatch as RegExpExecArray)[0]);
  if (!Number.isSafeInteger(threshold)) refuse('aggregation', 'the number is too large');
  at += (numberMatch as RegExpExecArray)[0].length;
  skip();
  if (at < condition.length) {
    refuse(
      'aggregation',
      condition[at] === '|'
        ? 'only one aggregation is supported after the search expression'
        : `unexpected "${condition.slice(at)}" after the aggregation`,
    );
  }
  return {
    distinctField,
    groupBy,
    operator: operatorText === '=' ? '==' : (operatorText as AggregationOperator),
    threshold,
    columns,
  };
}
