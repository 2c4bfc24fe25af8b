import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBuiltinRules } from './builtin-rules.js';
import { loadUserRules, userRulesDir } from './user-rules.js';

const dataDir = mkdtempSync(join(tmpdir(), 'zerotrail-user-rules-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('rule files in the data directory', () => {
  it('refuses a file whose aliases expand into millions of values with RULE_INVALID naming the file', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefghi'
        .split('')
        .map((name, i) => `${name}: &${name} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
      'id: bomb',
    ].join('\n');
    mkdirSync(userRulesDir(dataDir), { recursive: true });
    const file = join(userRulesDir(dataDir), 'bomb.yaml');
    writeFileSync(file, bomb);
    let error: unknown;
    try {
      loadUserRules(dataDir, loadBuiltinRules());
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'RULE_INVALID' });
    expect((error as Error).message.startsWith(`${file}: YAML: `)).toBe(true);
  });
});
