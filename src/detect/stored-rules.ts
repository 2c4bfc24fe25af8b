import { z } from 'zod';
import type { Store } from '../store/store.js';
import type { RuleDefinition } from './rule-file.js';
import { parseAnyRuleFile } from './user-rules.js';

/**
 * Where rules added through the HTTP API are kept, as their YAML text. They live in the store, not in the data
 * directory, so every node sharing a database runs them and the rule format stays the one source of truth.
 */
export const STORED_RULES_SETTING = 'detect.custom_rules';

const storedRuleSchema = z.object({ yaml: z.string(), addedBy: z.string(), addedAt: z.number() });
export type StoredRule = z.infer<typeof storedRuleSchema>;

export function storedRulesFromText(text: string | undefined): readonly StoredRule[] {
  if (text === undefined) return [];
  return z.array(storedRuleSchema).parse(JSON.parse(text));
}

export async function readStoredRules(store: Store): Promise<readonly StoredRule[]> {
  return storedRulesFromText(await store.getSetting(STORED_RULES_SETTING));
}

export async function writeStoredRules(store: Store, rules: readonly StoredRule[]): Promise<void> {
  await store.setSetting(STORED_RULES_SETTING, JSON.stringify(rules));
}

/** A stored rule's origin in messages: the API keeps no file name, so the rule is named by who added it and when. */
export function storedRuleOrigin(rule: StoredRule): string {
  return `rule added by ${rule.addedBy} at ${new Date(rule.addedAt).toISOString()}`;
}

export function parseStoredRule(rule: StoredRule): RuleDefinition {
  return parseAnyRuleFile(rule.yaml, storedRuleOrigin(rule));
}
