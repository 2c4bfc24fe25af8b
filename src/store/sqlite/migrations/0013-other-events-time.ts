import type { Migration } from './migrations.js';

/**
 * The events the hourly summary (migration 0008) does not count, by time: every class but Authentication (3002).
 * A histogram over every event reads the authentications from the summary and only these from the events, so a
 * long period no longer walks every stored login. Partial, so an append or a merge of logins adds nothing to it.
 */
export const MIGRATION_0013_OTHER_EVENTS_TIME: Migration = {
  version: 13,
  name: 'other-events-time',
  sql: `
CREATE INDEX events_other_class_time ON events (time) WHERE class_uid <> 3002;
`,
};
