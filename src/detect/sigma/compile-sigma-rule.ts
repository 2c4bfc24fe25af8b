import type { NormalizedEvent } from '../../core/event.js';
import { FieldRefusal, compileFieldMatcher } from './field-matcher.js';
import type { EventPredicate, SigmaValue } from './field-matcher.js';
import { ConditionRefusal, isUsableIdentifier, parseSigmaCondition } from './sigma-condition.js';
import type { AggregationOperator, ConditionNode, ParsedCondition } from './sigma-condition.js';
import { SIGMA_SERVICES, resolveSigmaField, sigmaFieldNames } from './sigma-fields.js';
import type { SigmaField, SigmaService } from './sigma-fields.js';
import { SIGMA_PRODUCT, SIGMA_SERVICE_DATASETS } from './sigma-logsource.js';
import { SigmaRuleError } from './sigma-rule-error.js';
import { isYamlProblem, parseSigmaYaml } from './sigma-yaml.js';
import type { SigmaEntry, SigmaNode, SigmaPosition } from './sigma-yaml.js';

export const SIGMA_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type SigmaLevel = (typeof SIGMA_LEVELS)[number];

/** `| count([field]) [by …] op threshold` over `timeframe`. */
export interface SigmaAggregation {
  /** zerotrail field names (aliases resolved); empty counts over every matching event together. */
  readonly groupBy: readonly string[];
  /** Set for `count(field)`: the number of distinct values of this field is compared, not the events. */
  readonly distinctField?: string;
  readonly operator: AggregationOperator;
  readonly threshold: number;
  readonly timeframeMs: number;
}

/** A Sigma rule compiled for zerotrail's events; pure data plus a pure `match`. */
export interface CompiledSigmaRule {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** Sigma `level`; `medium` when the rule has none. */
  readonly severity: SigmaLevel;
  /** MITRE ATT&CK techniques from `attack.tNNNN[.NNN]` tags, upper case (`T1110.003`). */
  readonly techniques: readonly string[];
  /** MITRE ATT&CK tactics from the other `attack.*` tags (`credential_access`). */
  readonly tactics: readonly string[];
  readonly tags: readonly string[];
  readonly status: string | null;
  readonly falsePositives: readonly string[];
  readonly references: readonly string[];
  /** `logsource.service`, or every service when the rule names none. */
  readonly services: readonly SigmaService[];
  /** The zerotrail datasets the rule sees; `match` is false for events of any other. */
  readonly datasets: readonly string[];
  /** Whether one event satisfies the search expression (the condition before any `|`). */
  match(event: NormalizedEvent): boolean;
  readonly aggregation?: SigmaAggregation;
  /**
   * The value of a field as text, for grouping and distinct counts: null when absent, the values joined by
   * `,` in sorted order when the event holds a list. Throws for a field the rule cannot name.
   */
  fieldText(event: NormalizedEvent, field: string): string | null;
}

export interface CompileSigmaOptions {
  /** Named in messages; the path the rule was read from. */
  readonly file?: string;
}

const LOGSOURCE_KEYS = new Set(['product', 'service', 'category', 'definition']);
const TIMEFRAME_UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// Windowed state lives in the store; a window beyond what Cloudflare keeps (180 days) can never fill.
const MAX_TIMEFRAME_MS = 180 * 86_400_000;
const MAX_TITLE_CHARS = 256;

/**
 * Compiles the text of one Sigma rule file. Throws SigmaRuleError naming the rule, the place and the feature
 * for anything malformed or unsupported: a rule is compiled whole or not at all.
 */
export function compileSigmaRule(text: string, options: CompileSigmaOptions = {}): CompiledSigmaRule {
  return new RuleCompiler(options.file ?? null).compile(text);
}

interface Context {
  readonly path: readonly string[];
  readonly at: SigmaPosition | null;
}

class RuleCompiler {
  readonly #file: string | null;
  #title: string | null = null;
  #services: readonly SigmaService[] = SIGMA_SERVICES;

  constructor(file: string | null) {
    this.#file = file;
  }

  #fail(context: Context, feature: string, what: string): never {
    throw new SigmaRuleError(
      {
        rule: this.#title,
        file: this.#file,
        place: {
          path: context.path,
          ...(context.at === null ? {} : { line: context.at.line, column: context.at.column }),
        },
        feature,
      },
      what,
    );
  }

  compile(text: string): CompiledSigmaRule {
    const parsed = parseSigmaYaml(text);
    if (isYamlProblem(parsed)) this.#fail({ path: [], at: parsed.at ?? null }, parsed.feature, parsed.problem);
    const root = parsed;
    if (root.kind !== 'map') this.#fail({ path: [], at: root.at }, 'rule structure', 'a Sigma rule is a YAML map');
    const top = new Map(root.entries.map((entry) => [entry.key, entry]));

    const title = top.get('title');
    // Read first so every later message can name the rule.
    if (title?.value.kind === 'scalar' && title.value.type === 'string' && title.value.text?.trim()) {
      this.#title = title.value.text.trim();
    }
    // Top-level attributes other than those read below are custom fields, which Sigma allows and we ignore;
    // these three mark other kinds of Sigma document.
    const correlation = top.get('correlation');
    if (correlation !== undefined) {
      this.#fail(
        { path: ['correlation'], at: correlation.at },
        'correlation rule',
        'Sigma correlation rules are not supported; write a count aggregation in the condition instead ("selection | count() by src_ip > 20" with a timeframe)',
      );
    }
    const action = top.get('action');
    if (action !== undefined) {
      this.#fail(
        { path: ['action'], at: action.at },
        'rule collection',
        'rule collection action documents (global, reset, repeat) are not supported; write each rule whole',
      );
    }
    if (top.has('filter') && !top.has('detection')) {
      const filter = top.get('filter') as SigmaEntry;
      this.#fail(
        { path: ['filter'], at: filter.at },
        'Sigma filter',
        "Sigma filters (meta filters) are not supported; add the exclusion to the rule's condition",
      );
    }
    if (this.#title === null) {
      this.#fail(
        { path: ['title'], at: title?.at ?? null },
        'title',
        title === undefined ? 'the rule has no title' : 'title must be non-empty text',
      );
    }
    if (this.#title.length > MAX_TITLE_CHARS) {
      this.#fail(
        { path: ['title'], at: title?.at ?? null },
        'title',
        `title is longer than ${MAX_TITLE_CHARS} characters`,
      );
    }

    const id = this.#requiredText(
      top,
      'id',
      'zerotrail keys alert state by the rule id, so a rule must have one (a UUID)',
    );
    if (id.length > 200 || /[\u0000-\u001f\u007f]/.test(id)) {
      this.#fail({ path: ['id'], at: top.get('id')?.at ?? null }, 'id', 'id must be at most 200 printable characters');
    }
    const taxonomy = this.#optionalText(top, 'taxonomy');
    if (taxonomy !== null && taxonomy !== 'sigma') {
      this.#fail(
        { path: ['taxonomy'], at: top.get('taxonomy')?.at ?? null },
        `taxonomy ${taxonomy}`,
        `the taxonomy "${taxonomy}" is not supported; zerotrail rules use its own field names (docs/sigma.md) under the default taxonomy`,
      );
    }
    const description = this.#optionalText(top, 'description') ?? '';
    const status = this.#optionalText(top, 'status');
    const severity = this.#level(top);
    const tags = this.#textList(top, 'tags');
    const falsePositives = this.#textList(top, 'falsepositives');
    const references = this.#textList(top, 'references');
    const { techniques, tactics } = attackTags(tags);

    const datasets = this.#logsource(top);
    const detection = top.get('detection');
    if (detection === undefined)
      this.#fail({ path: ['detection'], at: null }, 'detection', 'the rule has no detection');
    const compiled = this.#detection(detection);
    const allowed = new Set(datasets);
    const expression = compiled.match;
    const fieldTexts = new Map<string, SigmaField>();
    const rule: CompiledSigmaRule = {
      id,
      title: this.#title,
      description,
      severity,
      techniques,
      tactics,
      tags,
      status,
      falsePositives,
      references,
      services: this.#services,
      datasets,
      match: (event) => allowed.has(event.dataset) && expression(event),
      ...(compiled.aggregation === null ? {} : { aggregation: compiled.aggregation }),
      fieldText: (event, name) => {
        let field = fieldTexts.get(name);
        if (field === undefined) {
          const resolved = resolveSigmaField(name);
          if (resolved === null) throw new Error(`Sigma rule ${JSON.stringify(rule.title)} has no field "${name}"`);
          field = resolved;
          fieldTexts.set(name, field);
        }
        return valueText(field.read(event));
      },
    };
    return Object.freeze(rule);
  }

  #requiredText(top: ReadonlyMap<string, SigmaEntry>, key: string, why: string): string {
    const entry = top.get(key);
    if (entry === undefined) this.#fail({ path: [key], at: null }, key, `the rule has no ${key}; ${why}`);
    const value = this.#scalarText(entry, [key]);
    if (value === null || value.trim() === '')
      this.#fail({ path: [key], at: entry.at }, key, `${key} must be non-empty text`);
    return value.trim();
  }

  #optionalText(top: ReadonlyMap<string, SigmaEntry>, key: string): string | null {
    const entry = top.get(key);
    if (entry === undefined) return null;
    return this.#scalarText(entry, [key]);
  }

  #scalarText(entry: SigmaEntry, path: readonly string[]): string | null {
    const value = entry.value;
    if (value.kind !== 'scalar')
      this.#fail(
        { path, at: entry.at },
        path.join('.'),
        `${path.join('.')} must be text, not a ${value.kind === 'map' ? 'map' : 'list'}`,
      );
    return value.text;
  }

  #textList(top: ReadonlyMap<string, SigmaEntry>, key: string): string[] {
    const entry = top.get(key);
    if (entry === undefined) return [];
    if (entry.value.kind === 'scalar') return entry.value.text === null ? [] : [entry.value.text];
    if (entry.value.kind !== 'seq') this.#fail({ path: [key], at: entry.at }, key, `${key} must be a list of text`);
    return entry.value.items.map((item, index) => {
      if (item.kind !== 'scalar' || item.text === null) {
        this.#fail({ path: [key, String(index)], at: item.at }, key, `${key} must be a list of text`);
      }
      return item.text;
    });
  }

  #level(top: ReadonlyMap<string, SigmaEntry>): SigmaLevel {
    const level = this.#optionalText(top, 'level');
    if (level === null) return 'medium';
    const lower = level.toLowerCase();
    if (!(SIGMA_LEVELS as readonly string[]).includes(lower)) {
      this.#fail(
        { path: ['level'], at: top.get('level')?.at ?? null },
        'level',
        `"${level}" is not a Sigma level; use ${SIGMA_LEVELS.join(', ')}`,
      );
    }
    return lower as SigmaLevel;
  }

  #logsource(top: ReadonlyMap<string, SigmaEntry>): readonly string[] {
    const entry = top.get('logsource');
    if (entry === undefined)
      this.#fail(
        { path: ['logsource'], at: null },
        'logsource',
        `the rule has no logsource; zerotrail evaluates "logsource: {product: ${SIGMA_PRODUCT}, service: …}"`,
      );
    const node = entry.value;
    if (node.kind !== 'map') this.#fail({ path: ['logsource'], at: entry.at }, 'logsource', 'logsource must be a map');
    let product: string | null = null;
    let service: SigmaService | null = null;
    for (const item of node.entries) {
      const path = ['logsource', item.key];
      const context = { path, at: item.at };
      if (!LOGSOURCE_KEYS.has(item.key)) {
        this.#fail(
          context,
          `logsource ${item.key}`,
          `logsource.${item.key} is not supported; zerotrail reads product and service (and ignores definition)`,
        );
      }
      const text = this.#scalarText(item, path);
      if (item.key === 'definition') continue;
      if (item.key === 'category') {
        this.#fail(
          context,
          'logsource category',
          `logsource category "${text ?? ''}" is not a zerotrail log source; remove it and name a service: ${SIGMA_SERVICES.join(', ')}`,
        );
      }
      if (item.key === 'product') product = text;
      if (item.key === 'service') {
        if (text === null || !(SIGMA_SERVICES as readonly string[]).includes(text.toLowerCase())) {
          this.#fail(
            context,
            `logsource service ${text ?? 'null'}`,
            `logsource service "${text ?? 'null'}" is not a zerotrail log source; use one of ${SIGMA_SERVICES.join(', ')} (or none for every dataset)`,
          );
        }
        service = text.toLowerCase() as SigmaService;
      }
    }
    if (product === null || product.toLowerCase() !== SIGMA_PRODUCT) {
      this.#fail(
        {
          path: ['logsource', 'product'],
          at: node.entries.find((item) => item.key === 'product')?.at ?? entry.at,
        },
        `logsource product ${product ?? 'missing'}`,
        product === null
          ? `logsource has no product; zerotrail evaluates rules for "product: ${SIGMA_PRODUCT}"`
          : `logsource product "${product}" is not a zerotrail log source; zerotrail evaluates rules for "product: ${SIGMA_PRODUCT}" (services ${SIGMA_SERVICES.join(', ')})`,
      );
    }
    this.#services = service === null ? SIGMA_SERVICES : [service];
    return this.#services.flatMap((name) => SIGMA_SERVICE_DATASETS[name]);
  }

  #detection(entry: SigmaEntry): { match: EventPredicate; aggregation: SigmaAggregation | null } {
    if (entry.value.kind !== 'map')
      this.#fail(
        { path: ['detection'], at: entry.at },
        'detection',
        'detection must be a map of search identifiers and a condition',
      );
    const identifiers = new Map<string, { readonly predicate: EventPredicate; readonly entry: SigmaEntry }>();
    let condition: SigmaEntry | null = null;
    let timeframe: SigmaEntry | null = null;
    for (const item of entry.value.entries) {
      if (item.key === 'condition') condition = item;
      else if (item.key === 'timeframe') timeframe = item;
      else {
        if (!isUsableIdentifier(item.key)) {
          this.#fail(
            { path: ['detection', item.key], at: item.at },
            'search identifier',
            `"${item.key}" cannot be a search identifier: use letters, digits, _, - and ., and none of the words and, or, not, of, them, all, any, near, 1`,
          );
        }
        identifiers.set(item.key, { predicate: this.#searchIdentifier(item), entry: item });
      }
    }
    if (condition === null)
      this.#fail({ path: ['detection', 'condition'], at: entry.at }, 'condition', 'detection has no condition');
    const conditionEntry = condition;
    const conditions: { text: string; at: SigmaPosition; path: string[] }[] = [];
    if (conditionEntry.value.kind === 'seq') {
      conditionEntry.value.items.forEach((item, index) => {
        if (item.kind !== 'scalar' || item.type !== 'string' || item.text === null) {
          this.#fail(
            { path: ['detection', 'condition', String(index)], at: item.at },
            'condition',
            'each condition must be text',
          );
        }
        conditions.push({ text: item.text, at: item.at, path: ['detection', 'condition', String(index)] });
      });
      if (conditions.length === 0)
        this.#fail(
          { path: ['detection', 'condition'], at: conditionEntry.at },
          'condition',
          'the condition list is empty',
        );
    } else if (
      conditionEntry.value.kind === 'scalar' &&
      conditionEntry.value.type === 'string' &&
      conditionEntry.value.text !== null
    ) {
      conditions.push({
        text: conditionEntry.value.text,
        at: conditionEntry.value.at,
        path: ['detection', 'condition'],
      });
    } else {
      this.#fail(
        { path: ['detection', 'condition'], at: conditionEntry.at },
        'condition',
        'condition must be text or a list of text',
      );
    }

    const parsed = conditions.map((item) => ({ ...item, parsed: this.#parseCondition(item.text, item.path, item.at) }));
    const withAggregation = parsed.filter((item) => item.parsed.aggregation !== null);
    if (withAggregation.length > 0 && parsed.length > 1) {
      const first = withAggregation[0] as (typeof parsed)[number];
      this.#fail(
        { path: first.path, at: first.at },
        'aggregation',
        'an aggregation must be the only condition; a list of conditions cannot hold one',
      );
    }
    const predicates = parsed.map((item) =>
      this.#expression(item.parsed.expression, identifiers, item.path, item.text, item.at),
    );
    const match: EventPredicate =
      predicates.length === 1
        ? (predicates[0] as EventPredicate)
        : (event) => predicates.some((predicate) => predicate(event));

    const only = parsed[0] as (typeof parsed)[number];
    const aggregation = only.parsed.aggregation;
    if (aggregation === null) {
      if (timeframe !== null) {
        this.#fail(
          { path: ['detection', 'timeframe'], at: timeframe.at },
          'timeframe',
          'timeframe only applies to an aggregation ("| count() … > N"); remove it or add one',
        );
      }
      return { match, aggregation: null };
    }
    if (timeframe === null) {
      this.#fail(
        { path: only.path, at: only.at },
        'aggregation',
        'an aggregation needs detection.timeframe (e.g. timeframe: 10m)',
      );
    }
    const timeframeMs = this.#timeframe(timeframe);
    const resolve = (name: string): string => {
      const column = aggregation.columns[name] ?? 1;
      return this.#field(name, { path: only.path, at: { line: only.at.line, column: only.at.column + column - 1 } })
        .name;
    };
    return {
      match,
      aggregation: {
        groupBy: aggregation.groupBy.map(resolve),
        ...(aggregation.distinctField === null ? {} : { distinctField: resolve(aggregation.distinctField) }),
        operator: aggregation.operator,
        threshold: aggregation.threshold,
        timeframeMs,
      },
    };
  }

  #parseCondition(text: string, path: readonly string[], at: SigmaPosition): ParsedCondition {
    try {
      return parseSigmaCondition(text);
    } catch (error) {
      if (!(error instanceof ConditionRefusal)) throw error;
      this.#fail({ path, at: columnAt(at, error.column) }, error.feature, `${error.what} (in "${text}")`);
    }
  }

  #timeframe(entry: SigmaEntry): number {
    const context = { path: ['detection', 'timeframe'], at: entry.at };
    const text = entry.value.kind === 'scalar' ? entry.value.text : null;
    const match = text === null ? null : /^(\d+)([smhd])$/.exec(text.trim());
    if (match === null) {
      this.#fail(context, 'timeframe', `timeframe "${text ?? ''}" is not a number followed by s, m, h or d (e.g. 10m)`);
    }
    const ms = Number(match[1]) * (TIMEFRAME_UNITS[match[2] as string] ?? 0);
    if (ms <= 0 || ms > MAX_TIMEFRAME_MS)
      this.#fail(context, 'timeframe', 'timeframe must be more than 0 and at most 180d');
    return ms;
  }

  #expression(
    node: ConditionNode,
    identifiers: ReadonlyMap<string, { readonly predicate: EventPredicate; readonly entry: SigmaEntry }>,
    path: readonly string[],
    text: string,
    at: SigmaPosition,
  ): EventPredicate {
    const recurse = (child: ConditionNode): EventPredicate => this.#expression(child, identifiers, path, text, at);
    switch (node.kind) {
      case 'and': {
        const operands = node.operands.map(recurse);
        return (event) => operands.every((operand) => operand(event));
      }
      case 'or': {
        const operands = node.operands.map(recurse);
        return (event) => operands.some((operand) => operand(event));
      }
      case 'not': {
        const operand = recurse(node.operand);
        return (event) => !operand(event);
      }
      case 'ref': {
        const found = identifiers.get(node.name);
        if (found === undefined) {
          this.#fail(
            { path, at: columnAt(at, node.column) },
            'search identifier',
            `the condition names "${node.name}", which detection does not define (in "${text}")`,
          );
        }
        return found.predicate;
      }
      case 'of': {
        const names = [...identifiers.keys()].filter((name) =>
          node.pattern === 'them' ? !name.startsWith('_') : globMatches(node.pattern, name),
        );
        const context = { path, at: columnAt(at, node.column) };
        const written = `${node.quantifier === 'one' ? '1' : 'all'} of ${node.pattern}`;
        if (names.length === 0) {
          this.#fail(context, written, `"${written}" matches no search identifier of detection (in "${text}")`);
        }
        const single = identifiers.get(node.pattern);
        if (
          node.quantifier === 'all' &&
          single !== undefined &&
          !node.pattern.includes('*') &&
          single.entry.value.kind === 'seq' &&
          single.entry.value.items.length > 1
        ) {
          // Sigma 1.0 read this as "every item of the list"; 2.0 and pySigma as the identifier itself.
          this.#fail(
            context,
            written,
            `"${written}" is ambiguous: Sigma versions disagree on whether it means every item of the list "${node.pattern}" or the list as a whole; write "${node.pattern}", or split the list into ${node.pattern}_1, ${node.pattern}_2, … and write "all of ${node.pattern}_*"`,
          );
        }
        const predicates = names.map((name) => (identifiers.get(name) as { predicate: EventPredicate }).predicate);
        return node.quantifier === 'one'
          ? (event) => predicates.some((predicate) => predicate(event))
          : (event) => predicates.every((predicate) => predicate(event));
      }
    }
  }

  #searchIdentifier(entry: SigmaEntry): EventPredicate {
    const path = ['detection', entry.key];
    const node = entry.value;
    if (node.kind === 'map') return this.#selection(node.entries, path, entry.at);
    if (node.kind === 'seq') {
      if (node.items.length === 0)
        this.#fail({ path, at: entry.at }, 'empty search identifier', `"${entry.key}" is an empty list`);
      if (node.items.every((item) => item.kind === 'map')) {
        const alternatives = node.items.map((item, index) =>
          this.#selection(item.entries, [...path, String(index)], item.at),
        );
        return (event) => alternatives.some((alternative) => alternative(event));
      }
      if (node.items.every((item) => item.kind === 'scalar')) {
        this.#fail(
          { path, at: entry.at },
          'keyword search',
          `"${entry.key}" is a list of keywords; keyword search over whole events is not supported, name a field instead (e.g. message|contains)`,
        );
      }
      this.#fail(
        { path, at: entry.at },
        'search identifier',
        `"${entry.key}" mixes maps and plain values; use a list of maps or a map`,
      );
    }
    this.#fail(
      { path, at: entry.at },
      'keyword search',
      `"${entry.key}" is a keyword; keyword search over whole events is not supported, name a field instead (e.g. message|contains)`,
    );
  }

  #selection(entries: readonly SigmaEntry[], path: readonly string[], at: SigmaPosition): EventPredicate {
    if (entries.length === 0)
      this.#fail({ path, at }, 'empty search identifier', 'a selection map must name at least one field');
    const predicates = entries.map((entry) => this.#fieldCondition(entry, [...path, entry.key]));
    if (predicates.length === 1) return predicates[0] as EventPredicate;
    return (event) => predicates.every((predicate) => predicate(event));
  }

  #fieldCondition(entry: SigmaEntry, path: readonly string[]): EventPredicate {
    const [name = '', ...modifiers] = entry.key.split('|');
    const context = { path, at: entry.at };
    if (name === '') {
      this.#fail(
        context,
        'keyword search',
        `"${entry.key}" has no field name: keyword search over whole events is not supported, name a field instead (e.g. message|contains)`,
      );
    }
    const field = this.#field(name, context);
    const values = this.#values(entry, path);
    try {
      return compileFieldMatcher(field, modifiers, values, entry.at);
    } catch (error) {
      if (!(error instanceof FieldRefusal)) throw error;
      this.#fail({ path, at: error.at ?? entry.at }, error.feature, error.what);
    }
  }

  #values(entry: SigmaEntry, path: readonly string[]): SigmaValue[] {
    const node = entry.value;
    const scalar = (item: SigmaNode, where: readonly string[]): SigmaValue => {
      if (item.kind !== 'scalar') {
        this.#fail(
          { path: where, at: item.at },
          'field value',
          `a field value must be text, a number, a boolean or null, not a ${item.kind === 'map' ? 'map' : 'nested list'}`,
        );
      }
      return { text: item.text, type: item.type, at: item.at };
    };
    if (node.kind === 'seq') return node.items.map((item, index) => scalar(item, [...path, String(index)]));
    return [scalar(node, path)];
  }

  #field(name: string, context: Context): SigmaField {
    const field = resolveSigmaField(name);
    if (field === null) {
      const lower = name.toLowerCase();
      const near = sigmaFieldNames().find((known) => known.toLowerCase() === lower);
      const hint =
        near === undefined
          ? 'docs/sigma.md lists the fields a rule can use'
          : `did you mean "${near}"? Field names are case-sensitive`;
      this.#fail(context, `field ${name}`, `zerotrail events have no field "${name}"; ${hint}`);
    }
    if (!field.services.some((service) => this.#services.includes(service))) {
      this.#fail(
        context,
        `field ${name}`,
        `the field "${name}" never appears in events of service ${this.#services.join(', ')}; it is set on ${field.services.join(', ')} events`,
      );
    }
    return field;
  }
}

function columnAt(at: SigmaPosition, column: number): SigmaPosition {
  // A plain scalar starts where its text does; for quoted text the column is off by the quote.
  return { line: at.line, column: at.column + column - 1 };
}

/** Sigma's search identifier patterns: `*` matches any run of characters, everything else is literal. */
function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's').test(name);
}

function attackTags(tags: readonly string[]): { techniques: string[]; tactics: string[] } {
  const techniques: string[] = [];
  const tactics: string[] = [];
  for (const tag of tags) {
    const lower = tag.toLowerCase();
    if (!lower.startsWith('attack.')) continue;
    const rest = lower.slice('attack.'.length);
    if (/^t\d{4}(\.\d{3})?$/.test(rest)) techniques.push(rest.toUpperCase());
    else if (/^[a-z][a-z_-]*$/.test(rest)) tactics.push(rest);
  }
  return { techniques: [...new Set(techniques)], tactics: [...new Set(tactics)] };
}

function valueText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) {
    const texts = (value as unknown[]).map(valueText).filter((text): text is string => text !== null);
    return texts.length === 0 ? null : [...new Set(texts)].sort().join(',');
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? null;
}
