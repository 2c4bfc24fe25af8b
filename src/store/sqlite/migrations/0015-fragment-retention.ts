import type { Migration } from './migrations.js';

/**
 * Fragments go with the events that use them. Enrichment texts name the inventory snapshot their facts come
 * from, so inventory changes bring new ones, and nothing ever deleted them. `referenced_until` bounds the time of
 * every event whose body refers to the fragment: an append raises it before it writes such a body, and retention
 * deletes the fragments whose bound falls before its cut, after the events. A fragment stored before this
 * migration may be used by any stored event, so it starts at the newest event time in either tier. The index
 * spares the hourly retention run a read of every fragment's text. `fragment_sweeps` counts the retention runs
 * that deleted fragments: a writer that remembers fragment ids reads it in each write transaction and forgets
 * them when it changed, since a deleted fragment's id can be given to another text.
 */
export const MIGRATION_0015_FRAGMENT_RETENTION: Migration = {
  version: 15,
  name: 'fragment-retention',
  sql: `
ALTER TABLE event_fragments ADD COLUMN referenced_until INTEGER NOT NULL DEFAULT 0;
UPDATE event_fragments SET referenced_until = max(
  coalesce((SELECT max(time) FROM events), 0),
  coalesce((SELECT max(time) FROM events_recent), 0));
CREATE INDEX event_fragments_referenced_until ON event_fragments (referenced_until);
CREATE TABLE fragment_sweeps (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sweeps INTEGER NOT NULL
);
INSERT INTO fragment_sweeps (id, sweeps) VALUES (1, 0);
`,
};
