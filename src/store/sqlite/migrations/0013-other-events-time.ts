import type { Migration } from './migrations.js';

/**
 * The events the hourly summary (migration 0008) does not count, by time: every class but Authentication (3002).
 * A histogram over every event reads the authentications from the summary and only these from the events, so a
 * long period no longer walks every stored login. It holds the columns such a histogram may filter on, so it
 * answers without reading the table, and it is partial, so an append or a merge of logins adds nothing to it.
 */
export const MIGRATION_0013_OTHER_EVENTS_TIME: Migration = {
  version: 13,
  name: 'other-events-time',
  sql: `
CREATE INDEX events_other_class_time ON events (time, class_uid, source, outcome, app, country, idp)
  WHERE class_uid <> 3002;
`,
};
