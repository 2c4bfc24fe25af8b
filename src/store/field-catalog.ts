import { FIELD_ALIASES } from './query-language.js';
import type { SearchField } from './search-query.js';

export const FIELD_TYPES = ['text', 'time', 'ip', 'number', 'keyword'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldInfo {
  readonly name: SearchField;
  readonly type: FieldType;
  readonly description: string;
  /** Other names the query language accepts for the field. */
  readonly aliases: readonly string[];
}

// `satisfies` makes a new search field fail to compile until it is described here, and a removed one too.
const DESCRIPTIONS = {
  time: { type: 'time', description: 'When the event happened; ranges as time:[2026-11-24 TO now]' },
  user: { type: 'text', description: 'The email address or name of the user' },
  src_ip: { type: 'ip', description: 'The client IP address; accepts CIDR blocks such as 192.0.2.0/24' },
  country: { type: 'keyword', description: 'Two-letter country code of the client IP' },
  app: { type: 'text', description: 'Application name or domain' },
  app_uid: { type: 'keyword', description: 'Cloudflare id of the Access application' },
  idp: { type: 'text', description: 'Identity provider the user signed in with' },
  outcome: { type: 'keyword', description: 'success, failure or unknown (also allowed, denied)' },
  activity: { type: 'keyword', description: 'What happened: logon, logoff, create, update, delete, ...' },
  dataset: { type: 'keyword', description: 'The Cloudflare dataset, such as access_requests or groups' },
  ray_id: { type: 'keyword', description: 'Cloudflare Ray ID of the request' },
  source: { type: 'keyword', description: 'Name of the zerotrail data source' },
  account_id: { type: 'keyword', description: 'Cloudflare account id' },
  class_uid: { type: 'number', description: 'OCSF class number, such as 3002 (Authentication)' },
  id: { type: 'keyword', description: 'zerotrail event id' },
} as const satisfies Record<SearchField, { readonly type: FieldType; readonly description: string }>;

/** Every field of the query language, in the order people most often reach for them, with its aliases. */
export const FIELD_CATALOG: readonly FieldInfo[] = (Object.keys(DESCRIPTIONS) as SearchField[]).map((name) => ({
  name,
  ...DESCRIPTIONS[name],
  aliases: Object.entries(FIELD_ALIASES)
    .filter(([, field]) => field === name)
    .map(([alias]) => alias),
}));
