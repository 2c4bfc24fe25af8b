import { success } from '../envelope.js';
import { hash32 } from '../prng.js';
import type { SimulatorData } from './route.js';
import { accessUserRoute, appOf, userLogEvents } from './access-user-route.js';
import type { AccessUserSubject, UserLogEvent } from './access-user-route.js';

type Json = Record<string, unknown>;

const HOUR_SECS = 3600;
// The organisation's session_duration when it cannot be read ("24h" is the simulated organisation's value).
const DEFAULT_SESSION_SECS = 24 * HOUR_SECS;
// Bounds the log scan if a test sets an extreme duration; a month is the longest global session Access offers.
const MAX_SESSION_SECS = 30 * 24 * HOUR_SECS;
const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DURATION_PART = /(\d+(?:\.\d+)?)(h|m|s)/g;
const DURATION = /^(\d+(?:\.\d+)?(h|m|s))+$/;

/** Seconds in a Go-style duration such as "24h", "30m" or "1h30m", as Access writes session_duration. */
function durationSecs(text: unknown): number | undefined {
  if (typeof text !== 'string' || !DURATION.test(text)) return undefined;
  let secs = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART))
    secs += Number(amount) * (unit === 'h' ? HOUR_SECS : unit === 'm' ? 60 : 1);
  return Math.round(secs);
}

function textKey(text: string): number {
  let key = 0;
  for (let i = 0; i < text.length; i++) key = (Math.imul(key, 31) + text.charCodeAt(i)) >>> 0;
  return key;
}

// Sixteen characters like spec-2024's example ("X1aXj1lFVcqqyoXF"), fixed by the user, address and start time.
function nonce(seed: number, subject: AccessUserSubject, ip: string, iat: number): string {
  const key = textKey(`${subject.id}|${ip}|${iat}`);
  let out = '';
  for (let i = 0; i < 16; i++) out += NONCE_ALPHABET[hash32(seed, key, 0x5e00 + i) % NONCE_ALPHABET.length] ?? 'A';
  return out;
}

function hostnameOf(domain: string): string {
  const slash = domain.indexOf('/');
  return slash === -1 ? domain : domain.slice(0, slash);
}

interface OpenSession {
  readonly ip: string;
  readonly startMs: number;
  readonly apps: Map<string, Json>;
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function sessionApp(data: SimulatorData, event: UserLogEvent): [string, Json] {
  const app = appOf(data, event.record);
  const uid = text(event.record['app_uid'], '');
  const domain = text(app?.['domain'], text(event.record['app_domain'], ''));
  return [
    text(app?.['aud'], uid),
    { hostname: hostnameOf(domain), name: text(app?.['name'], domain), type: text(app?.['type'], 'self_hosted'), uid },
  ];
}

/**
 * The user's open sessions at this request: each allowed login from an address opens a session there (unless
 * one is open) that lasts the organisation's session_duration; later logins from the same address add their
 * application, and a logout from it closes the session. Only logins inside one duration can still be open.
 */
function activeSessions(data: SimulatorData, subject: AccessUserSubject): Json[] {
  const ttl = Math.min(
    MAX_SESSION_SECS,
    durationSecs(data.inventory.organization['session_duration']) ?? DEFAULT_SESSION_SECS,
  );
  const events = userLogEvents(data, subject.email, {
    sinceMs: data.nowMs - ttl * 1000,
    untilMs: data.nowMs,
    direction: 'asc',
    size: Number.MAX_SAFE_INTEGER,
  });
  const open = new Map<string, OpenSession>();
  for (const event of events) {
    if (event.record['allowed'] !== true || Number.isNaN(event.timeMs)) continue;
    const ip = String(event.record['ip_address']);
    if (event.record['action'] === 'logout') {
      open.delete(ip);
      continue;
    }
    if (event.record['action'] !== 'login') continue;
    let session = open.get(ip);
    if (session === undefined) {
      session = { ip, startMs: event.timeMs, apps: new Map() };
      open.set(ip, session);
    }
    const [key, app] = sessionApp(data, event);
    session.apps.set(key, app);
  }
  return [...open.values()]
    .sort((a, b) => b.startMs - a.startMs)
    .map((session) => {
      const iat = Math.floor(session.startMs / 1000);
      const id = nonce(data.seed, subject, session.ip, iat);
      return {
        expiration: iat + ttl,
        metadata: { apps: Object.fromEntries(session.apps), expires: iat + ttl, iat, nonce: id, ttl },
        // spec-2024 gives `name` no description or example; the simulator names a session by its nonce.
        name: id,
      };
    });
}

/** GET /accounts/{account_id}/access/users/{user_id}/active_sessions: sessions built from the simulated log. */
export const accessUserActiveSessions = accessUserRoute({
  name: 'access-user-active-sessions',
  suffix: 'active_sessions',
  answer: (subject, { data }) => success(JSON.stringify(activeSessions(data, subject))),
});
