/**
 * The id of one dataset of one source, as cursors, statuses and leases name it: `<source name>/<dataset>`.
 * Source names may hold '/', dataset names never do.
 */
export function datasetJobId(sourceName: string, dataset: string): string {
  return `${sourceName}/${dataset}`;
}

/** Whether `id` names a dataset of `sourceName`, and not of a source whose name merely begins with it and '/'. */
export function isDatasetJobOf(id: string, sourceName: string): boolean {
  return id.startsWith(`${sourceName}/`) && !id.slice(sourceName.length + 1).includes('/');
}

/** The source and dataset a job id names, as datasetJobId put them together: the dataset follows the last '/'. */
export function splitJobId(jobId: string): { readonly sourceName: string; readonly dataset: string } {
  const slash = jobId.lastIndexOf('/');
  return { sourceName: jobId.slice(0, Math.max(0, slash)), dataset: jobId.slice(slash + 1) };
}
