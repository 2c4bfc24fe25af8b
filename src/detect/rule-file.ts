import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { OUTCOMES } from '../core/event.js';
import { AppError } from '../core/errors.js';
import { SEVERITIES, type RuleAllowList, type RuleSetting } from '../store/detection-store.js';
import { durationSchema } from './duration.js';
import { allowEntry, checkAllowedCountries, checkAllowedIps } from './allow-entries.js';
import { compileMatch, RuleProblem } from './match.js';
import type { CompiledRule, RegisteredRuleType, RuleHeader, RuleLogic } from './rule.js';
import { COMMON_VARIABLES } from './rule-types/common.js';
import { RULE_TYPES, type RuleTypeName } from './rule-types/registry.js';

const RULE_ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;
const PLACEHOLDER = /\{([a-z_]+)\}/g;

/**
 * Where each type's `params` hold match blocks. They are checked here as the top-level `match` is (every
 * problem, outcome values too): the type's create() compiles them, but stops at the first problem and runs only
 * once the rest of `params` parse. A type that adds a match block to its params adds its path here.
 */
const PARAM_MATCH_BLOCKS: Readonly<Record<RuleTypeName, readonly (readonly string[])[]>> = {
  event: [],
  threshold: [],
  sequence: [['first'], ['then']],
  rate_spike: [],
  first_seen: [['learn_from', 'match']],
  deprovisioned_login: [['deprovision'], ['reprovision'], ['login']],
  impossible_travel: [],
  sigma: [],
};

const allowSchema = z
  .object({
    users: z.array(allowEntry).default([]),
    ips: z.array(allowEntry).default([]).superRefine(checkAllowedIps),
    apps: z.array(allowEntry).default([]),
    countries: z.array(allowEntry).default([]).superRefine(checkAllowedCountries),
  })
  .strict();

const ruleFileSchema = z
  .object({
    id: z.string().regex(RULE_ID, 'lowercase letters, digits, "_", "-" and "." only, at most 64'),
    title: z.string().min(1).max(200),
    type: z.enum(Object.keys(RULE_TYPES) as [RuleTypeName, ...RuleTypeName[]]),
    severity: z.enum(SEVERITIES),
    technique: z.string().regex(TECHNIQUE, 'a MITRE ATT&CK technique id such as T1110 or T1110.003'),
    description: z.string().min(1),
    enabled: z.boolean().default(true),
    match: z.record(z.string(), z.unknown()).default({}),
    suppress: durationSchema.default(3_600_000),
    summary: z.string().min(1).max(500),
    allow: allowSchema.default({ users: [], ips: [], apps: [], countries: [] }),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** A rule as its file states it, before operator settings. */
export interface RuleDefinition {
  readonly header: RuleHeader;
  readonly match: Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly origin: string;
}

function invalid(origin: string, problems: readonly string[], cause?: unknown): AppError {
  return new AppError('RULE_INVALID', {
    message: `${origin}: ${problems.join('; ')}`,
    hint: 'docs/detections.md describes the rule format and every supported feature.',
    details: { origin },
    ...(cause === undefined ? {} : { cause }),
  });
}

function zodProblems(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      return `${path === '' ? '' : `${path}: `}unsupported field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `${path === '' ? '(rule)' : path}: ${issue.message}`;
  });
}

// A rule nests a few levels; the YAML parser recurses once per level and, some thousands deep, runs out of
// stack part-way (a V8 regular expression compiled at that moment has aborted the whole process).
const MAX_RULE_NESTING = 64;
// One broken bracket makes the parser report the same problem for every later line.
const MAX_YAML_PROBLEMS_SHOWN = 3;

/**
 * Refuses, with RULE_INVALID, text whose flow collections (`[`, `{`) nest deeper than any rule needs, before a
 * YAML parser recurses into it. Brackets inside quotes are counted too: a rule never needs that many.
 */
export function checkRuleNesting(text: string, origin: string): void {
  let depth = 0;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '[' || char === '{') {
      depth += 1;
      if (depth > MAX_RULE_NESTING) {
        throw invalid(origin, [
          `YAML: lists and maps nest more than ${MAX_RULE_NESTING} levels deep (at character ${index + 1}); a rule needs a few`,
        ]);
      }
    } else if ((char === ']' || char === '}') && depth > 0) {
      depth -= 1;
    }
  }
}

/**
 * The YAML of a rule file as plain data. Syntax errors are reported with their line and column; aliases that
 * expand beyond what any rule needs are refused here, before they build a huge value.
 */
function yamlValue(text: string, origin: string): unknown {
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (document.errors.length > 0) {
    const shown = document.errors.slice(0, MAX_YAML_PROBLEMS_SHOWN).map((error) => {
      const { line, col } = lines.linePos(error.pos[0]);
      return `YAML line ${line}, column ${col}: ${error.message.split('\n')[0] ?? ''}`;
    });
    const more = document.errors.length - shown.length;
    throw invalid(origin, more > 0 ? [...shown, `and ${more} more YAML problems after these`] : shown);
  }
  try {
    return document.toJS();
  } catch (error) {
    // The yaml package refuses an alias that expands into too many nodes (a "billion laughs" file) by throwing.
    if (!(error instanceof Error)) throw error;
    throw invalid(
      origin,
      [`YAML: ${error.message.split('\n')[0] ?? ''}; a rule needs no more than a few aliases (*name)`],
      error,
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses and validates one rule file's text. Every problem is reported at once; nothing is half-applied. */
export function parseRuleFile(text: string, origin: string): RuleDefinition {
  checkRuleNesting(text, origin);
  const value = yamlValue(text, origin);
  const parsed = ruleFileSchema.safeParse(value);
  const problems = parsed.success ? [] : zodProblems(parsed.error);
  // The checks below each need only their own fields, so they also run when others are wrong: one round with
  // the file shows every problem, instead of one stage at a time.
  if (isRecord(value)) {
    const typeName = typeof value['type'] === 'string' ? value['type'] : '';
    const type = Object.hasOwn(RULE_TYPES, typeName) ? RULE_TYPES[typeName as RuleTypeName] : undefined;
    const summary = value['summary'];
    if (type !== undefined && typeof summary === 'string') problems.push(...placeholderProblems(summary, type));
    const match = value['match'] ?? {};
    const params = value['params'] ?? {};
    if (isRecord(match)) problems.push(...matchProblems(match, 'match'));
    if (type !== undefined && isRecord(params)) ruleLogic(params, typeName as RuleTypeName, problems);
  }
  if (!parsed.success || problems.length > 0) throw invalid(origin, problems);
  const file = parsed.data;
  return {
    header: {
      id: file.id,
      title: file.title,
      type: file.type,
      severity: file.severity,
      technique: file.technique,
      description: file.description.trim(),
      enabled: file.enabled,
      suppressMs: file.suppress,
      summary: file.summary.trim(),
      allow: file.allow,
    },
    match: file.match,
    params: file.params,
    origin,
  };
}

function placeholderProblems(summary: string, type: RegisteredRuleType): string[] {
  const known = new Set<string>([...COMMON_VARIABLES, ...type.variables]);
  const unknown = [...summary.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '').filter((name) => !known.has(name));
  if (unknown.length === 0) return [];
  return [
    `summary: unknown placeholder${unknown.length === 1 ? '' : 's'} ${unknown.map((n) => `{${n}}`).join(', ')}; available: ${[...known].map((n) => `{${n}}`).join(', ')}`,
  ];
}

/** The type's logic for `params`, or undefined after adding what is wrong with them to `problems`. */
function ruleLogic(
  params: Readonly<Record<string, unknown>>,
  typeName: RuleTypeName,
  problems: string[],
): RuleLogic | undefined {
  const type = RULE_TYPES[typeName];
  const blockProblems = PARAM_MATCH_BLOCKS[typeName].flatMap((path) => {
    const block = valueAt(params, path);
    // A block that is missing or not a map is the params schema's to report.
    return isRecord(block) ? matchProblems(block, ['params', ...path].join('.')) : [];
  });
  problems.push(...blockProblems);
  const parsed = type.params.safeParse(params);
  if (!parsed.success) {
    problems.push(...zodProblems(parsed.error, 'params'));
    return undefined;
  }
  // create() would only report the first of these again.
  if (blockProblems.length > 0) return undefined;
  return caught(problems, () => type.create(parsed.data));
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let at = value;
  for (const key of path) {
    if (!isRecord(at) || !Object.hasOwn(at, key)) return undefined;
    at = at[key];
  }
  return at;
}

// Runs `work`, adding a RuleProblem it throws to `problems`.
function caught<T>(problems: string[], work: () => T): T | undefined {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof RuleProblem)) throw error;
    problems.push(`${error.path}: ${error.message}`);
    return undefined;
  }
}

/**
 * Every problem of a match block, condition by condition (compileMatch stops at the first), and values of an
 * enumerated field that no event ever has: such a condition would be accepted and never match.
 */
function matchProblems(block: unknown, path: string): string[] {
  if (!isRecord(block)) return [`${path}: must be a map of field: value conditions`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(block)) {
    const at = `${path}.${key}`;
    if (key === 'any') {
      if (!Array.isArray(value) || value.length === 0) problems.push(`${at}: must be a non-empty list of match blocks`);
      else for (const [i, item] of value.entries()) problems.push(...matchProblems(item, `${at}[${i}]`));
    } else if (key === 'not') {
      problems.push(...matchProblems(value, at));
    } else {
      caught(problems, () => compileMatch({ [key]: value }, path));
      if (key === 'outcome') problems.push(...outcomeProblems(value, at));
    }
  }
  return problems;
}

function outcomeProblems(value: unknown, path: string): string[] {
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  const never = values.filter(
    (item) => typeof item === 'string' && !(OUTCOMES as readonly string[]).includes(item.toLowerCase()),
  );
  if (never.length === 0) return [];
  return [
    `${path}: ${never.map((item) => JSON.stringify(item)).join(', ')} never matches; an outcome is one of ${OUTCOMES.join(', ')} (a denied login is failure, an allowed one success)`,
  ];
}

/** The rule with the operator's setting applied: parameter overrides and extra allow-list entries. */
export function compileRule(definition: RuleDefinition, setting: RuleSetting | undefined): CompiledRule {
  const { header, origin } = definition;
  const problems = matchProblems(definition.match, 'match');
  const logic = ruleLogic(
    { ...definition.params, ...(setting?.overrides ?? {}) },
    header.type as RuleTypeName,
    problems,
  );
  if (logic === undefined || problems.length > 0) throw invalid(origin, problems);
  const allow: RuleAllowList =
    setting === undefined
      ? header.allow
      : {
          users: [...header.allow.users, ...setting.allow.users],
          ips: [...header.allow.ips, ...setting.allow.ips],
          apps: [...header.allow.apps, ...setting.allow.apps],
          countries: [...header.allow.countries, ...setting.allow.countries],
        };
  return {
    header: { ...header, enabled: setting?.enabled ?? header.enabled, allow },
    match: compileMatch(definition.match, 'match'),
    logic,
    origin,
  };
}

/** Checks parameter overrides against the rule's type; throws RULE_INVALID naming each problem. */
export function checkOverrides(definition: RuleDefinition, overrides: Readonly<Record<string, unknown>>): void {
  compileRule(definition, {
    ruleId: definition.header.id,
    enabled: null,
    overrides,
    allow: { users: [], ips: [], apps: [], countries: [] },
    updatedAt: 0,
    updatedBy: '',
  });
}
