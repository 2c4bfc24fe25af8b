// The columns the Explore table can show: every normalized field of an event. The first seven are the default
// view, the ones an analyst scans; the column chooser adds or removes any of them.

export const COLUMN_IDS = [
  'time',
  'outcome',
  'user',
  'src_ip',
  'app',
  'dataset',
  'country',
  'idp',
  'activity',
  'source',
  'app_uid',
  'ray_id',
  'class_uid',
  'account_id',
  'id',
] as const;
export type ColumnId = (typeof COLUMN_IDS)[number];

export const DEFAULT_COLUMNS: readonly ColumnId[] = ['time', 'outcome', 'user', 'src_ip', 'app', 'dataset', 'country'];

export const COLUMN_LABELS: Readonly<Record<ColumnId, string>> = {
  time: 'Time (UTC)',
  outcome: 'Outcome',
  user: 'User',
  src_ip: 'Source IP',
  app: 'Application',
  dataset: 'Dataset',
  country: 'Country',
  idp: 'Identity provider',
  activity: 'Activity',
  source: 'Data source',
  app_uid: 'Application id',
  ray_id: 'Ray id',
  class_uid: 'OCSF class',
  account_id: 'Account id',
  id: 'Event id',
};

export function isColumnId(value: string): value is ColumnId {
  return (COLUMN_IDS as readonly string[]).includes(value);
}

/** Known ids only, each once, in the catalogue's order; null when nothing known is left. */
export function cleanColumns(ids: readonly string[]): readonly ColumnId[] | null {
  const chosen = COLUMN_IDS.filter((id) => ids.includes(id));
  return chosen.length === 0 ? null : chosen;
}
