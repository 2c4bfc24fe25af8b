import type { ReactNode } from 'react';
import { MISSING } from '../format.js';

/**
 * The placeholder of a missing value. It keeps the page's own font inside a monospaced cell: the dash drawn in a
 * monospaced font looks like another character, and one placeholder must look the same everywhere.
 */
export function MissingValue(): ReactNode {
  return <span className="missing">{MISSING}</span>;
}
