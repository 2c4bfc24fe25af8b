import { parseDocument } from 'yaml';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { SEVERITIES, type RuleAllowList, type RuleSetting } from '../store/detection-store.js';
import { durationSchema } from './duration.js';
import { allowEntry, checkAllowedCountries, checkAllowedIps } from './allow-entries.js';
import { compileMatch, RuleProblem } from './match.js';
import type { CompiledRule, RuleHeader } from './rule.js';
import { COMMON_VARIABLES } from './rule-types/common.js';
import { RULE_TYPES, type RuleTypeName } from './rule-types/registry.js';

const RULE_ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;
const PLACEHOLDER = /\{([a-z_]+)\}/g;

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

function invalid(origin: string, problems: readonly string[]): AppError {
  return new AppError('RULE_INVALID', {
    message: `${origin}: ${problems.join('; ')}`,
    hint: 'docs/detections.md describes the rule format and every supported feature.',
    details: { origin },
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

/** Parses and validates one rule file's text. Every problem is reported; nothing is half-applied. */
export function parseRuleFile(text: string, origin: string): RuleDefinition {
  checkRuleNesting(text, origin);
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    const shown = document.errors
      .slice(0, MAX_YAML_PROBLEMS_SHOWN)
      .map((error) => `YAML: ${error.message.split('\n')[0] ?? ''}`);
    const more = document.errors.length - shown.length;
    throw invalid(origin, more > 0 ? [...shown, `and ${more} more YAML problems after these`] : shown);
  }
  const parsed = ruleFileSchema.safeParse(document.toJS());
  if (!parsed.success) throw invalid(origin, zodProblems(parsed.error));
  const file = parsed.data;
  const type = RULE_TYPES[file.type];
  const known = new Set<string>([...COMMON_VARIABLES, ...type.variables]);
  const unknown = [...file.summary.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '').filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw invalid(origin, [
      `summary: unknown placeholder${unknown.length === 1 ? '' : 's'} ${unknown.map((n) => `{${n}}`).join(', ')}; available: ${[...known].map((n) => `{${n}}`).join(', ')}`,
    ]);
  }
  const definition: RuleDefinition = {
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
  // Compiling once here refuses a bad match block or bad parameters at load time, not at the first event.
  compileRule(definition, undefined);
  return definition;
}

/** The rule with the operator's setting applied: parameter overrides and extra allow-list entries. */
export function compileRule(definition: RuleDefinition, setting: RuleSetting | undefined): CompiledRule {
  const { header, origin } = definition;
  const type = RULE_TYPES[header.type as RuleTypeName];
  const params = type.params.safeParse({ ...definition.params, ...(setting?.overrides ?? {}) });
  if (!params.success) throw invalid(origin, zodProblems(params.error, 'params'));
  try {
    const match = compileMatch(definition.match, 'match');
    const logic = type.create(params.data);
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
      match,
      logic,
      origin,
    };
  } catch (error) {
    if (error instanceof RuleProblem) throw invalid(origin, [`${error.path}: ${error.message}`]);
    throw error;
  }
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
