/**
 * What a connection test found for one dataset. `permission_missing`: the token lacks what the dataset needs, so it
 * is not collected. `unchecked`: the check failed for another reason (a rate limit, an outage, an answer it could
 * not read), which says nothing about the token.
 */
export type DatasetState = 'readable' | 'permission_missing' | 'unchecked';

/**
 * A dataset's status as the CLI and the web UI show a connection report. A failed check that was not about a
 * permission is "not checked", never "missing", which would send the user to the dashboard for a rate limit or an
 * outage. `missing` is how the caller writes a required dataset the token cannot read.
 */
export function datasetStatus(
  row: { readonly state: DatasetState; readonly required: boolean },
  missing: string,
): string {
  if (row.state === 'readable') return 'collected';
  if (row.state === 'unchecked') return 'not checked';
  return row.required ? missing : 'not collected';
}
