import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { fileSystemProblem } from './file-error.js';

describe('fileSystemProblem', () => {
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    dir = makeTempDir('file-error');
  });
  afterEach(() => dir.remove());

  function problemReading(path: string): string {
    try {
      readFileSync(path);
    } catch (error) {
      return fileSystemProblem(error);
    }
    throw new Error(`${path} was read`);
  }

  it('says in words why a real read failed', () => {
    mkdirSync(join(dir.path, 'folder'));
    writeFileSync(join(dir.path, 'plain'), 'x');
    expect(problemReading(join(dir.path, 'missing.yaml'))).toBe('it does not exist');
    expect(problemReading(join(dir.path, 'folder'))).toBe('it is a directory, not a file');
    expect(problemReading(join(dir.path, 'plain', 'rule.yaml'))).toBe('a part of its path is a file, not a directory');
  });
});
