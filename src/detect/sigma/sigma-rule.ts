import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Severity } from '../../store/detection-store.js';
import { durationSchema } from '../duration.js';
import { isFlatField, RuleProblem } from '../match.js';
import { registerRuleType } from '../rule.js';
import type { RawFiring, RuleLogic } from '../rule.js';
import type { RuleDefinition } from '../rule-file.js';
import { entityOf, eventVars } from '../rule-types/common.js';
import { thresholdRule } from '../rule-types/threshold.js';
import { compileSigmaRule } from './compile-sigma-rule.js';
import type { CompiledSigmaRule, SigmaLevel } from './compile-sigma-rule.js';
import { SIGMA_FILE_MAX_BYTES } from './load-sigma-rule-file.js';
import { SigmaRuleError } from './sigma-rule-error.js';
import { fileSystemProblem } from '../../core/file-error.js';

const paramsSchema = z
  .object({
    /** The Sigma rule, as the text of its file. */
    source: z.string().min(1),
    /** Where it came from, for messages. */
    origin: z.string().min(1).default('Sigma rule'),
    /** Replaces the number the aggregation compares the count with (the comparison stays). */
    threshold: z.number().int().min(0).optional(),
    /** Replaces the aggregation's timeframe. */
    window: durationSchema.optional(),
  })
  .strict();

type SigmaParams = z.infer<typeof paramsSchema>;

// The rule ids and titles the engine stores (rule-file.ts).
const ENGINE_RULE_ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const ENGINE_TITLE_CHARS = 200;
const DEFAULT_SUPPRESS_MS = 3_600_000;

const SEVERITIES: Readonly<Record<Exclude<SigmaLevel, 'informational'>, Severity>> = {
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

/**
 * The `sigma` rule type: a Sigma rule evaluated by the engine. A rule without aggregation raises a finding for
 * every event it matches; `| count(…) by … > N` over a timeframe runs on the engine's threshold logic, with
 * its windowed state in the store.
 */
export const sigmaRuleType = registerRuleType({
  params: paramsSchema,
  variables: ['count', 'distinct', 'duration', 'values'],
  create(params: SigmaParams): RuleLogic {
    const rule = compileSigmaRule(params.source, { file: params.origin });
    const logic = rule.aggregation === undefined ? eventLogic(rule, params) : aggregationLogic(rule, params);
    return {
      stateKeys: (event) => (rule.match(event) ? logic.stateKeys(event) : []),
      evaluate: (event, state, context) => (rule.match(event) ? logic.evaluate(event, state, context) : []),
    };
  },
});

function eventLogic(rule: CompiledSigmaRule, params: SigmaParams): RuleLogic {
  for (const name of ['threshold', 'window'] as const) {
    if (params[name] !== undefined) {
      throw new RuleProblem(`params.${name}`, `the Sigma rule has no aggregation, so there is no ${name} to change`);
    }
  }
  return {
    stateKeys: () => [],
    evaluate(event): RawFiring[] {
      // One alert per source and user: the same user matching again grows it, another user opens their own.
      return [
        {
          entityKey: `${event.sourceName}\u001f${event.user ?? ''}`,
          entity: entityOf(event),
          evidence: [{ eventId: event.id, eventTime: event.time }],
          vars: eventVars(event),
          details: { sigma_id: rule.id, dataset: event.dataset, activity: event.activity },
        },
      ];
    },
  };
}

function aggregationLogic(rule: CompiledSigmaRule, params: SigmaParams): RuleLogic {
  const aggregation = rule.aggregation;
  if (aggregation === undefined) throw new Error('aggregationLogic needs an aggregation');
  const refuse = (feature: string, what: string): never => {
    throw new SigmaRuleError(
      { rule: rule.title, file: params.origin, place: { path: ['detection', 'condition'] }, feature },
      what,
    );
  };
  for (const field of [
    ...aggregation.groupBy,
    ...(aggregation.distinctField === undefined ? [] : [aggregation.distinctField]),
  ]) {
    if (!isFlatField(field)) {
      refuse(
        `aggregation field ${field}`,
        `the aggregation counts by "${field}"; zerotrail counts Sigma aggregations by the flat fields (user, src_ip, country, app, app_uid, idp, dataset, activity, outcome, …) only`,
      );
    }
  }
  const number = params.threshold ?? aggregation.threshold;
  // The engine raises an alert when a window's count reaches a threshold; on whole numbers "> N" is "≥ N + 1".
  let threshold: number;
  if (aggregation.operator === '>') threshold = number + 1;
  else if (aggregation.operator === '>=') threshold = Math.max(1, number);
  else {
    return refuse(
      `aggregation ${aggregation.operator}`,
      `the aggregation compares the count with "${aggregation.operator}"; zerotrail raises an alert when a count reaches a threshold, so only > and >= are evaluated`,
    );
  }
  return thresholdRule.create({
    group_by: [...aggregation.groupBy],
    window: params.window ?? aggregation.timeframeMs,
    threshold,
    ...(aggregation.distinctField === undefined ? {} : { distinct: aggregation.distinctField }),
  });
}

/**
 * A Sigma rule as a rule the engine runs: the header comes from the Sigma rule (id, title, level, first ATT&CK
 * technique, description) and the rule itself travels as the `sigma` type's parameter. Throws RULE_INVALID
 * when the rule is refused or does not fit the engine.
 */
export function sigmaRuleDefinition(text: string, origin: string): RuleDefinition {
  const rule = compileSigmaRule(text, { file: origin });
  const refuse = (path: string, feature: string, what: string): never => {
    throw new SigmaRuleError({ rule: rule.title, file: origin, place: { path: [path] }, feature }, what);
  };
  const id = rule.id.toLowerCase();
  if (!ENGINE_RULE_ID.test(id)) {
    refuse('id', 'id', 'a zerotrail rule id is at most 64 letters, digits, "_", "-" and "."; a UUID fits');
  }
  if (rule.title.length > ENGINE_TITLE_CHARS) {
    refuse('title', 'title', `a zerotrail rule title is at most ${ENGINE_TITLE_CHARS} characters`);
  }
  if (rule.severity === 'informational') {
    refuse(
      'level',
      'level informational',
      'level informational marks a rule for tagging events, not for alerts; use low or higher for a rule that raises alerts',
    );
  }
  const title = rule.title.replace(/[{}]/g, '');
  const aggregation = rule.aggregation;
  let summary = `${title}: {message}`;
  if (aggregation !== undefined) {
    const distinct =
      aggregation.distinctField === undefined ? '' : ` for {distinct} distinct ${aggregation.distinctField}`;
    const by =
      aggregation.groupBy.length === 0 ? '' : ` by ${aggregation.groupBy.map((field) => `{${field}}`).join(', ')}`;
    summary = `${title}: {count} matching events${distinct}${by} in {duration}`;
  }
  const definition: RuleDefinition = {
    header: {
      id,
      title: rule.title,
      type: 'sigma',
      severity: SEVERITIES[rule.severity as Exclude<SigmaLevel, 'informational'>],
      technique: rule.techniques[0] ?? '',
      description: rule.description === '' ? rule.title : rule.description.trim(),
      enabled: true,
      suppressMs: DEFAULT_SUPPRESS_MS,
      summary,
      allow: { users: [], ips: [], apps: [], countries: [] },
    },
    match: {},
    params: { source: text, origin },
    origin,
  };
  // Built once here so a rule the engine cannot run is refused when it is loaded, not at the first event.
  sigmaRuleType.create(sigmaRuleType.params.parse(definition.params));
  return definition;
}

/** Reads a Sigma rule file and makes it a rule the engine runs; throws RULE_INVALID naming the file. */
export async function loadSigmaRuleDefinition(path: string): Promise<RuleDefinition> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SigmaRuleError(
      { rule: null, file: path, place: { path: [] }, feature: 'file' },
      code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read: ${fileSystemProblem(error)}`,
      error,
    );
  }
  if (Buffer.byteLength(text) > SIGMA_FILE_MAX_BYTES) {
    throw new SigmaRuleError(
      { rule: null, file: path, place: { path: [] }, feature: 'file size' },
      `the file is larger than ${SIGMA_FILE_MAX_BYTES} bytes`,
    );
  }
  return sigmaRuleDefinition(text, path);
}
