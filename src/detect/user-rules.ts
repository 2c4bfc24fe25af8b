import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { AppError } from '../core/errors.js';
import { checkRuleNesting, parseRuleFile, type RuleDefinition } from './rule-file.js';
import { sigmaRuleDefinition } from './sigma/sigma-rule.js';

/** The folder of the data directory whose rule files the collector loads beside the built-ins. */
export const USER_RULES_FOLDER = 'rules';

export function userRulesDir(dataDir: string): string {
  return join(dataDir, USER_RULES_FOLDER);
}

export function isRuleFileName(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

// A top-level `logsource:` or `detection:` line, for text too broken for the YAML parser to find its keys.
const SIGMA_KEY_LINE = /^(?:logsource|detection)[ \t]*:/m;

/**
 * A Sigma rule has a logsource or a detection, which the engine's format never has. Decided from the document's
 * top-level keys without building its value (an alias bomb is refused by the parser that reads the rule), and
 * from the text when the YAML is broken, so a Sigma file with a syntax error gets the Sigma parser's message.
 */
export function isSigmaText(text: string): boolean {
  const document = parseDocument(text, { prettyErrors: false });
  if (document.errors.length > 0) return SIGMA_KEY_LINE.test(text);
  const contents = document.contents;
  if (!isMap(contents)) return false;
  const keys = contents.items.map((pair) => (isScalar(pair.key) ? pair.key.value : null));
  return keys.includes('logsource') || keys.includes('detection');
}

/** A rule file's text in either format: Sigma, or the engine's (docs/detections.md). Throws RULE_INVALID. */
export function parseAnyRuleFile(text: string, origin: string): RuleDefinition {
  checkRuleNesting(text, origin);
  return isSigmaText(text) ? sigmaRuleDefinition(text, origin) : parseRuleFile(text, origin);
}

/** One user rule and the file it came from. */
export interface UserRule {
  readonly file: string;
  readonly definition: RuleDefinition;
}

/**
 * The rule files of `<dataDir>/rules`, sorted by file name. A broken file, or an id that a built-in or another
 * file has already, throws RULE_INVALID naming the file, so the collector does not start half-configured.
 */
export function loadUserRules(dataDir: string, builtins: readonly RuleDefinition[]): readonly UserRule[] {
  const dir = userRulesDir(dataDir);
  if (!existsSync(dir)) return [];
  const seen = new Map(builtins.map((rule) => [rule.header.id, 'a built-in rule']));
  const rules: UserRule[] = [];
  for (const name of readdirSync(dir).filter(isRuleFileName).sort()) {
    const file = join(dir, name);
    const definition = parseAnyRuleFile(readFileSync(file, 'utf8'), file);
    const holder = seen.get(definition.header.id);
    if (holder !== undefined) {
      throw new AppError('RULE_INVALID', {
        message: `${file}: id: ${holder} has the id ${definition.header.id} already; choose another id.`,
        hint: `Rename the rule or remove the file with zerotrail rules remove ${definition.header.id}.`,
        details: { origin: file },
      });
    }
    seen.set(definition.header.id, file);
    rules.push({ file, definition });
  }
  return rules;
}
