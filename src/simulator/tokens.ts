import { isoSeconds } from './ids.js';
import { hash32 } from './prng.js';
import type { ResolvedToken } from './routes/route.js';

/** A token the simulator accepts. Defaults: active, the three read permissions, the simulator's account. */
export interface SimulatorToken {
  value: string;
  /** What the token details endpoint calls it (default "Zero Trust log collector"). */
  name?: string | undefined;
  status?: 'active' | 'disabled' | 'expired' | undefined;
  /**
   * Permission group names, e.g. `Access: Apps and Policies Read`; a `… Write` or `… Edit` group grants the
   * matching `… Read` as well (see `PERMISSIONS` for the names the endpoints ask for).
   */
  permissions?: readonly string[] | undefined;
  accountIds?: readonly string[] | undefined;
  /** RFC 3339; once the clock passes it the token reports `expired`. */
  expiresOn?: string | undefined;
}

export const DEFAULT_PERMISSIONS = [
  'Access: Audit Logs Read',
  'Zero Trust Read',
  'Access: Organizations, Identity Providers, and Groups Read',
] as const;

// Tokens were issued some time before the inventory's reference date, whatever the clock says.
const ISSUED_BEFORE_MS = Date.parse('2026-01-01T00:00:00Z');
const DAY_MS = 86_400_000;

/** The token as the simulator reports it at `nowMs`; its id derives from its value only. */
export function resolveToken(token: SimulatorToken, accountId: string, nowMs: number): ResolvedToken {
  let key = 0;
  for (let i = 0; i < token.value.length; i++) key = (Math.imul(key, 33) + token.value.charCodeAt(i)) >>> 0;
  const id = [1, 2, 3, 4].map((salt) => hash32(0x70c3, key, salt).toString(16).padStart(8, '0')).join('');
  const expired = token.expiresOn !== undefined && Date.parse(token.expiresOn) <= nowMs;
  return {
    id,
    name: token.name ?? 'Zero Trust log collector',
    issuedOn: isoSeconds(ISSUED_BEFORE_MS - (hash32(0x70c3, key, 5) % 200) * DAY_MS),
    status: token.status === 'disabled' ? 'disabled' : expired ? 'expired' : (token.status ?? 'active'),
    permissions: token.permissions ?? DEFAULT_PERMISSIONS,
    accountIds: token.accountIds ?? [accountId],
    ...(token.expiresOn === undefined ? {} : { expiresOn: token.expiresOn }),
  };
}
