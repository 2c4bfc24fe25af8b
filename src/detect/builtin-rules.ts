import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseRuleFile, type RuleDefinition } from './rule-file.js';

// The rule files live in the source tree; from src/detect and from dist/detect alike this is the same folder.
const RULES_DIR = fileURLToPath(new URL('../../src/detect/rules/', import.meta.url));

/** The rules zerotrail ships, one YAML file each, sorted by id. A broken built-in fails loudly at startup. */
export function loadBuiltinRules(dir: string = RULES_DIR): readonly RuleDefinition[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort();
  const rules = files.map((name) => parseRuleFile(readFileSync(`${dir}/${name}`, 'utf8'), `built-in rule ${name}`));
  return rules.sort((a, b) => (a.header.id < b.header.id ? -1 : 1));
}
