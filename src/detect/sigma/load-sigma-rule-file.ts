import { readFile, stat } from 'node:fs/promises';
import { compileSigmaRule } from './compile-sigma-rule.js';
import type { CompiledSigmaRule } from './compile-sigma-rule.js';
import { SigmaRuleError } from './sigma-rule-error.js';
import { fileSystemProblem } from '../../core/file-error.js';

// A Sigma rule is a page of YAML; anything near this size is not one, and parsing it would only cost memory.
export const SIGMA_FILE_MAX_BYTES = 256 * 1024;

/** Reads and compiles one Sigma rule file; throws SigmaRuleError when it is refused or cannot be read. */
export async function loadSigmaRuleFile(path: string): Promise<CompiledSigmaRule> {
  const refuse = (what: string, feature: string, cause?: unknown): SigmaRuleError => {
    return new SigmaRuleError({ rule: null, file: path, place: { path: [] }, feature }, what, cause);
  };
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw refuse('it is not a file', 'file');
    if (info.size > SIGMA_FILE_MAX_BYTES)
      throw refuse(`the file is larger than ${SIGMA_FILE_MAX_BYTES} bytes`, 'file size');
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof SigmaRuleError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw refuse(
      code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read: ${fileSystemProblem(error)}`,
      'file',
      error,
    );
  }
  return compileSigmaRule(text, { file: path });
}
