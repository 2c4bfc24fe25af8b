import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_ROUTES } from './all-routes.js';

const README = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');

describe("README's route table", () => {
  it('names every route the server answers, method and path as written', () => {
    const table = README.slice(README.indexOf('| route | who | what |'), README.indexOf('## Web UI'));
    const missing = ALL_ROUTES.map((route) => `${route.method} ${route.url}`).filter(
      // The path ends at its query string, the closing backtick or a space.
      (route) => !new RegExp(`\`${route.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}[?\` ]`).test(table),
    );
    expect(missing).toEqual([]);
  });
});
