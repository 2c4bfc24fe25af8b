import { AppError } from '../../core/errors.js';

/** Where in a rule file a problem sits: the YAML path and, when known, its line and column (1-based). */
export type SigmaPlace = {
  readonly path: readonly string[];
  readonly line?: number;
  readonly column?: number;
};

/** What a refused Sigma rule error carries besides its message, for callers that show it in their own way. */
export type SigmaRuleErrorDetails = {
  /** The rule's title, or null when the file is refused before a title could be read. */
  readonly rule: string | null;
  readonly file: string | null;
  readonly place: SigmaPlace;
  /** The Sigma feature or construct that is refused or malformed, e.g. `modifier base64`. */
  readonly feature: string;
};

/**
 * A Sigma rule zerotrail refuses (RULE_INVALID): it is malformed, or it uses a feature the compiler does not
 * implement. The message names the rule, the place and the feature, so the author can fix the file without
 * reading code; a rule is never loaded with part of it ignored.
 */
export class SigmaRuleError extends AppError {
  override name = 'SigmaRuleError' as const;
  override readonly details: SigmaRuleErrorDetails;

  constructor(details: SigmaRuleErrorDetails, what: string, cause?: unknown) {
    super('RULE_INVALID', {
      message: `${describeRule(details)}: ${describePlace(details.place)}: ${what}`,
      hint: 'docs/sigma.md lists the Sigma features, log sources and fields zerotrail supports.',
      details,
      ...(cause === undefined ? {} : { cause }),
    });
    this.details = details;
  }
}

function describeRule(details: SigmaRuleErrorDetails): string {
  const title = details.rule === null ? 'Sigma rule' : `Sigma rule ${JSON.stringify(details.rule)}`;
  return details.file === null ? title : `${title} (${details.file})`;
}

/** `detection.selection.user|contains (line 7, column 5)`; the whole file when the path is empty. */
export function describePlace(place: SigmaPlace): string {
  const path = place.path.length === 0 ? 'the file' : place.path.join('.');
  if (place.line === undefined) return path;
  return `${path} (line ${place.line}${place.column === undefined ? '' : `, column ${place.column}`})`;
}
