import type { AuthStore, UserRecord } from '../../store/auth-store.js';
import { randomToken, sha256 } from './tokens.js';

// Long enough to open the printed link, short enough that a link left in a scrollback is soon worthless.
export const LOGIN_LINK_TTL_MS = 15 * 60_000;

/** Where a one-time login link points; GET signs the user in and redirects to the UI. */
export const LOGIN_LINK_PATH = '/api/login/link';

/**
 * Creates a single-use login link for `user`. The returned token exists nowhere else: only its SHA-256 is
 * stored, so the printed link is the one way to use it.
 */
export async function issueLoginLink(
  auth: AuthStore,
  user: UserRecord,
  nowMs: number,
): Promise<{ readonly token: string; readonly expiresAt: number }> {
  const token = randomToken();
  const expiresAt = nowMs + LOGIN_LINK_TTL_MS;
  await auth.createLoginLink({ tokenHash: sha256(token), userId: user.id, createdAt: nowMs, expiresAt });
  return { token, expiresAt };
}

/** The full link for a server listening at `baseUrl` (`http://127.0.0.1:8080`). */
export function loginLinkUrl(baseUrl: string, token: string): string {
  return `${baseUrl}${LOGIN_LINK_PATH}?token=${encodeURIComponent(token)}`;
}
