import type { Migration } from './migrations.js';

/**
 * One-time login links (the demo prints one). Only the SHA-256 of the link's token is kept; `used_at` is set by
 * the single statement that redeems it, so a second use finds nothing to claim.
 */
export const MIGRATION_0007_LOGIN_LINKS: Migration = {
  version: 7,
  name: 'login-links',
  sql: `
CREATE TABLE login_links (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX login_links_expires ON login_links (expires_at);
`,
};
