import type { Store } from '../store/store.js';
import { loadBuiltinRules } from './builtin-rules.js';
import type { RuleDefinition } from './rule-file.js';
import { parseStoredRule, readStoredRules, type StoredRule } from './stored-rules.js';
import { loadUserRules } from './user-rules.js';

/** A rule the detector runs, and where it comes from. */
export interface KnownRule {
  readonly definition: RuleDefinition;
  /** builtin: shipped; file: a file in <data dir>/rules; custom: added through the API and kept in the store. */
  readonly origin: 'builtin' | 'file' | 'custom';
  readonly custom: StoredRule | null;
}

/** The built-in rules, then the data directory's rule files: what is known without opening the store. */
export function knownFileRules(dataDir: string): readonly KnownRule[] {
  const builtinDefinitions = loadBuiltinRules();
  const builtins = builtinDefinitions.map((definition) => ({ definition, origin: 'builtin' as const, custom: null }));
  const files = loadUserRules(dataDir, builtinDefinitions).map((rule) => ({
    definition: rule.definition,
    origin: 'file' as const,
    custom: null,
  }));
  return [...builtins, ...files];
}

/** Built-in rules, the data directory's rule files, then the rules added through the API: what the detector runs. */
export async function knownRules(dataDir: string, store: Store): Promise<readonly KnownRule[]> {
  const custom = (await readStoredRules(store)).map((stored) => ({
    definition: parseStoredRule(stored),
    origin: 'custom' as const,
    custom: stored,
  }));
  return [...knownFileRules(dataDir), ...custom];
}
