import type { Organisation } from './organisation.js';
import { staffAddress } from './addresses.js';
import { usesApplication } from './organisation.js';
import { derive, hash32, unit } from './prng.js';

/** How events are rendered right now; both come from the active faults. */
export interface RenderMode {
  readonly hostileFraction: number;
  readonly timestampOffsets: boolean;
}

/** What an Access event is made of, as indexes into the organisation. */
export interface EventCore {
  readonly user: number;
  readonly app: number;
  readonly idp: number;
  readonly action: string;
  readonly allowed: boolean;
  readonly ip: string;
  readonly rayId: string;
}

const HOSTILE_VALUES = [
  '<script>alert(document.cookie)</script>',
  "'; DROP TABLE events; --",
  'line\nbreak\ttab\u0000nul\u0007bell\u001b[31mred',
  'lone \ud800 high and \udc00 low surrogate',
  '" OR 1=1 -- \\ backslash',
  '<img src=x onerror=alert(1)>.example.com',
  '\u202eevil right-to-left override',
] as const;
const HOSTILE_EMAILS = ["o'brien--x@example.com", "x'or'1'='1@example.com", 'first+{tag}@example.com'] as const;
const LONG_VALUE = 'A'.repeat(100 * 1024);
const OFFSETS_MINUTES = [120, -300, 330, 0, 60, -480] as const;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Turns an event serial and its time into the record Cloudflare would send, without keeping per-event state.
 * JSON is assembled from pre-escaped fragments because serialisation dominates the cost of a 1000-event page.
 */
export class EventRenderer {
  readonly #seed: number;
  readonly #org: Organisation;
  readonly #emailJson: readonly string[];
  readonly #appJson: readonly string[];
  readonly #idpJson: readonly string[];
  readonly #scripted: ReadonlyMap<number, EventCore>;
  readonly #intranet: number;

  /** `scripted` maps serials to events fixed in advance (injected attacks) instead of drawn from the serial. */
  constructor(seed: number, org: Organisation, scripted: ReadonlyMap<number, EventCore> = new Map()) {
    this.#seed = seed;
    this.#org = org;
    this.#scripted = scripted;
    this.#intranet = Math.max(
      0,
      org.applications.findIndex((a) => a.audience >= 1 && a.name === 'Intranet'),
    );
    this.#emailJson = org.users.map((u) => `","user_email":${JSON.stringify(u.email)}}`);
    this.#appJson = org.applications.map(
      (a) => `"app_domain":${JSON.stringify(a.domain)},"app_uid":${JSON.stringify(a.uid)}`,
    );
    this.#idpJson = org.identityProviders.map((p) => `,"connection":${JSON.stringify(p.type)}`);
  }

  #core(serial: number): EventCore {
    const scripted = this.#scripted.get(serial);
    if (scripted !== undefined) return scripted;
    const seed = this.#seed;
    const base = hash32(seed, serial, 10);
    const roll = (salt: number): number => derive(base, salt) / 4294967296;
    const users = this.#org.users;
    // A skewed pick: a minority of staff produces most of the logins, as in real organisations.
    const user = Math.min(users.length - 1, Math.floor(users.length * roll(11) ** 1.7));
    const u = users[user];
    const r = roll(12);
    const weights = this.#org.applicationWeights;
    let app = 0;
    while (app < weights.length - 1 && r > (weights[app] ?? 1)) app++;
    // Someone outside an application's audience opens the intranet instead.
    if (!usesApplication(seed, this.#org, user, app)) app = this.#intranet;
    const a = this.#org.applications[app];
    const actionRoll = roll(13);
    const action =
      actionRoll < 0.88 ? 'login' : actionRoll < 0.95 ? 'logout' : actionRoll < 0.985 ? 'warpEnrollment' : '';
    const denyRate = Math.max(u?.denyRate ?? 0, a?.denyRate ?? 0);
    const allowed = action === 'logout' || roll(14) >= denyRate;
    const idp = roll(15) < 0.06 ? this.#org.identityProviders.length - 1 : (u?.idp ?? 0);
    const ips = u?.ips ?? [];
    // Cafés, hotel Wi-Fi and a colleague's office: a few logins come from other addresses of the user's home area,
    // never from abroad, so the simulated staff raise no new-country or impossible-travel alert of their own.
    const ip =
      roll(16) < 0.03
        ? staffAddress(u?.country ?? 'US', derive(base, 20))
        : (ips[derive(base, 17) % Math.max(1, ips.length)] ?? staffAddress('US', user));
    const rayId = derive(base, 18).toString(16).padStart(8, '0') + derive(base, 19).toString(16).padStart(8, '0');
    return { user, app, idp, action, allowed, ip, rayId };
  }

  #isHostile(serial: number, mode: RenderMode): boolean {
    return mode.hostileFraction > 0 && unit(this.#seed, serial, 21) < mode.hostileFraction;
  }

  createdAt(timeMs: number, serial: number, mode: RenderMode): string {
    if (!mode.timestampOffsets) return new Date(timeMs).toISOString();
    const offset = OFFSETS_MINUTES[hash32(this.#seed, serial, 22) % OFFSETS_MINUTES.length] ?? 0;
    const local = new Date(timeMs + offset * 60_000);
    const micros = pad(local.getUTCMilliseconds(), 3) + pad(hash32(this.#seed, serial, 23) % 1000, 3);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset);
    return (
      `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T` +
      `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}.${micros}` +
      `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
    );
  }

  /** The user email of an event, for filters, without rendering the rest. */
  email(serial: number, mode: RenderMode): string {
    return this.object(0, serial, mode)['user_email'] as string;
  }

  object(timeMs: number, serial: number, mode: RenderMode): Record<string, unknown> {
    const c = this.#core(serial);
    const record: Record<string, unknown> = {
      action: c.action,
      allowed: c.allowed,
      app_domain: this.#org.applications[c.app]?.domain ?? '',
      app_uid: this.#org.applications[c.app]?.uid ?? '',
      connection: this.#org.identityProviders[c.idp]?.type ?? '',
      created_at: this.createdAt(timeMs, serial, mode),
      ip_address: c.ip,
      ray_id: c.rayId,
      user_email: this.#org.users[c.user]?.email ?? '',
    };
    if (this.#isHostile(serial, mode)) this.#poison(record, serial);
    return record;
  }

  // Only free-text fields are poisoned: the spec constrains allowed, created_at, ray_id and user_email
  // (boolean, date-time, 16 characters, email), and real responses respect those types.
  #poison(record: Record<string, unknown>, serial: number): void {
    const h = hash32(this.#seed, serial, 24);
    const fields = ['action', 'app_domain', 'app_uid', 'connection', 'ip_address'] as const;
    const field = fields[h % fields.length] ?? 'action';
    record[field] = h % 50 === 0 ? LONG_VALUE : (HOSTILE_VALUES[(h >>> 8) % HOSTILE_VALUES.length] ?? '');
    if ((h >>> 16) % 4 === 0) record['user_email'] = HOSTILE_EMAILS[(h >>> 20) % HOSTILE_EMAILS.length] ?? '';
  }

  /** The record as JSON text; byte-for-byte what `JSON.stringify(object(...))` gives. */
  json(timeMs: number, serial: number, mode: RenderMode): string {
    if (this.#isHostile(serial, mode)) return JSON.stringify(this.object(timeMs, serial, mode));
    const c = this.#core(serial);
    const created = this.createdAt(timeMs, serial, mode);
    return (
      `{"action":"${c.action}","allowed":${c.allowed ? 'true' : 'false'},${this.#appJson[c.app] ?? ''}` +
      `${this.#idpJson[c.idp] ?? ''},"created_at":"${created}","ip_address":"${c.ip}","ray_id":"${c.rayId}` +
      (this.#emailJson[c.user] ?? '')
    );
  }
}
