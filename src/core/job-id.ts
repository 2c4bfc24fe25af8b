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
