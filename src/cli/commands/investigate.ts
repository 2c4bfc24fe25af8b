import type { Command } from 'commander';
import { z } from 'zod';
import type { App } from '../../app.js';
import { abortAfter } from '../../core/abort-after.js';
import { AppError, NotFoundError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import { ACCESS_REQUESTS_DATASET } from '../../sources/cloudflare/datasets/access-requests.js';
import {
  fetchUserDetails,
  USER_DETAILS_PERMISSION,
  type ActiveSession,
  type FailedLogin,
  type LastSeenIdentity,
  type UserDetailFailure,
  type UserDetailPart,
  type UserDetails,
} from '../../sources/cloudflare/user-details.js';
import type { SearchFilter } from '../../store/search-query.js';
import type { StoredInventoryEntity } from '../../store/store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { eventToRecord } from '../../core/event-export.js';
import { eventsToTable, renderTable, visible } from '../output.js';
import { createSourceClient } from './source-client.js';
import { unknownSource } from './source.js';

const flagsSchema = z.object({
  source: z.string().min(1).optional(),
  format: z.enum(['table', 'json']).default('table'),
});

// What the analyst sees of the stored log next to the live state: the latest sign-ins are enough to line up.
const RECENT_EVENTS = 10;
// Three small requests; a lookup that takes longer than this is better reported than awaited.
const LIVE_TIMEOUT_MS = 120_000;
const MAX_CELL = 48;
// A locked-out user can fail hundreds of times; the table shows the latest, JSON keeps every one.
const MAX_FAILED_LOGIN_ROWS = 20;

type Json = Record<string, unknown>;

interface StoredGroup {
  readonly uid: string | null;
  readonly name: string;
}

/**
 * What the store holds of a subject the inventory does not list: a user deleted in Cloudflare since, or an address
 * from an alert that never was a user. Without an inventory entry there is no user id to ask Cloudflare about.
 */
interface StoredOnly {
  readonly subject: string;
  readonly sourceName: string | undefined;
  readonly events: readonly NormalizedEvent[];
}

/** Everything one investigation shows, gathered before anything is printed. */
interface Investigation {
  readonly user: StoredInventoryEntity;
  readonly accountId: string;
  readonly details: UserDetails;
  readonly events: readonly NormalizedEvent[];
  readonly groups: readonly StoredGroup[];
}

export function registerInvestigateCommand(program: Command, context: CommandContext): void {
  const investigate = program
    .command('investigate')
    .description('Put what the store knows about a subject next to its live state in Cloudflare');
  investigate
    .command('user')
    .description(
      `Show an Access user: inventory facts, live failed logins, active sessions and last seen identity (${USER_DETAILS_PERMISSION}), and the latest stored access events`,
    )
    .argument('<email-or-id>', 'the e-mail (any case) or the Access user id')
    .option('--source <name>', 'only this data source')
    .option('--format <format>', 'table or json (default table)')
    .action(async (subject: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(flagsSchema, rawFlags);
      await context.withExistingApp(
        async (app) => {
          const investigation = await investigateUser(app, subject, flags.source, context.io.signal);
          if ('subject' in investigation) {
            const json = flags.format === 'json';
            writeLine(
              context.io.stdout,
              json ? JSON.stringify(storedOnlyJson(investigation), null, 2) : storedOnlyText(investigation),
            );
            return;
          }
          if (flags.format === 'json') writeLine(context.io.stdout, JSON.stringify(toJson(investigation), null, 2));
          else writeLine(context.io.stdout, toText(investigation));
          failWhenNothingLive(investigation.details);
        },
        () => {
          throw flags.source === undefined ? noUsersYet(undefined) : unknownSource(flags.source, []);
        },
      );
    });
}

async function investigateUser(
  app: App,
  subject: string,
  sourceName: string | undefined,
  signal: AbortSignal,
): Promise<Investigation | StoredOnly> {
  if (sourceName !== undefined && (await app.store.getSource(sourceName)) === undefined) {
    throw unknownSource(sourceName, await app.store.listSources());
  }
  let user: StoredInventoryEntity;
  try {
    user = await findUser(app, subject.trim(), sourceName);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    const events = await storedEventsOf(app, subject.trim(), sourceName);
    if (events.length === 0) throw error;
    return { subject: subject.trim(), sourceName, events };
  }
  const stored = await app.store.getSource(user.sourceName);
  if (stored === undefined) throw unknownSource(user.sourceName, await app.store.listSources());
  const client = createSourceClient(app, stored);
  const email = emailOf(user);
  const [details, events] = await Promise.all([
    fetchUserDetails(client, user.id, abortAfter(signal, LIVE_TIMEOUT_MS)),
    recentEvents(app, user.sourceName, email),
  ]);
  return { user, accountId: stored.accountId, details, events, groups: inferredGroups(events) };
}

// '' or ' of "NAME"', after "inventory".
function inventoryOf(sourceName: string | undefined): string {
  return sourceName === undefined ? '' : ` of "${visible(sourceName)}"`;
}

function noUsersYet(sourceName: string | undefined): NotFoundError {
  return new NotFoundError('USER_NOT_FOUND', {
    message: `The inventory${inventoryOf(sourceName)} holds no users yet, so there is no user to investigate.`,
    hint: 'Run zerotrail collect --once to take an inventory snapshot; zerotrail source test NAME shows whether the token may read users.',
  });
}

async function findUser(app: App, subject: string, sourceName: string | undefined): Promise<StoredInventoryEntity> {
  const users = await app.store.listInventory('user', sourceName);
  if (users.length === 0) throw noUsersYet(sourceName);
  const where = inventoryOf(sourceName);
  const wanted = subject.toLowerCase();
  const matches = users.filter((user) => user.id.toLowerCase() === wanted || emailOf(user).toLowerCase() === wanted);
  const sources = [...new Set(matches.map((user) => user.sourceName))];
  const shown = visible(subject).slice(0, 100);
  const first = matches[0];
  if (first === undefined) {
    throw new NotFoundError('USER_NOT_FOUND', {
      message: `No user in the inventory${where} has the e-mail or id "${shown}".`,
      hint: 'Check the spelling (zerotrail inventory users lists them), or run zerotrail collect --once to refresh the inventory if the user is new.',
    });
  }
  if (sources.length > 1) {
    throw new AppError('CLI_USAGE', {
      message: `"${shown}" is a user of several data sources: ${sources.map((name) => `"${visible(name)}"`).join(', ')}.`,
      hint: 'Choose one with --source NAME.',
    });
  }
  // Cloudflare keeps e-mails unique within an account; the first match of the one source is the user.
  return first;
}

function emailOf(user: StoredInventoryEntity): string {
  const email = user.attributes['email'];
  return typeof email === 'string' && email !== '' ? email : user.name;
}

function term(field: 'dataset' | 'user' | 'source', value: string): SearchFilter {
  return { kind: 'term', field, value, wildcard: false };
}

async function recentEvents(app: App, sourceName: string, email: string): Promise<readonly NormalizedEvent[]> {
  const filter: SearchFilter = {
    kind: 'and',
    left: term('dataset', ACCESS_REQUESTS_DATASET),
    right: { kind: 'and', left: term('source', sourceName), right: term('user', email) },
  };
  const page = await app.store.search({ filter, order: 'desc' }, { limit: RECENT_EVENTS });
  return page.events;
}

// Any dataset: an address from an alert may have only tried to sign in, or shown up in Gateway or admin logs.
async function storedEventsOf(
  app: App,
  subject: string,
  sourceName: string | undefined,
): Promise<readonly NormalizedEvent[]> {
  // Users are stored in lower case (README, query language).
  const user = term('user', subject.toLowerCase());
  const filter: SearchFilter =
    sourceName === undefined ? user : { kind: 'and', left: term('source', sourceName), right: user };
  const page = await app.store.search({ filter, order: 'desc' }, { limit: RECENT_EVENTS });
  return page.events;
}

/** The user's groups as enrichment inferred them from the inventory's group rules, from the newest event carrying them. */
function inferredGroups(events: readonly NormalizedEvent[]): readonly StoredGroup[] {
  for (const event of events) {
    const user = event.ocsf['user'];
    if (user === null || typeof user !== 'object') continue;
    const groups = (user as Json)['groups'];
    if (!Array.isArray(groups)) continue;
    return groups.flatMap((group: unknown) => {
      if (group === null || typeof group !== 'object') return [];
      const { uid, name } = group as Json;
      if (typeof name !== 'string' && typeof uid !== 'string') return [];
      return [{ uid: typeof uid === 'string' ? uid : null, name: typeof name === 'string' ? name : String(uid) }];
    });
  }
  return [];
}

/**
 * When none of the three live parts could be read for a reason other than "not there", the command fails with the
 * first part's error (a missing permission exits as an authorisation failure) after printing what it has.
 */
function failWhenNothingLive(details: UserDetails): void {
  const failures = parts(details).flatMap((part) => (part.ok ? [] : [part.failure]));
  if (failures.length < 3 || failures.every((failure) => failure.reason === 'not_found')) return;
  const first = failures.find((failure) => failure.reason !== 'not_found') as UserDetailFailure;
  throw first.error;
}

function parts(details: UserDetails): readonly UserDetailPart<unknown>[] {
  return [details.failedLogins, details.activeSessions, details.lastSeenIdentity];
}

function iso(ms: number | null): string | null {
  if (ms === null) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

// --- JSON -------------------------------------------------------------------------------------------------

function partJson<T>(part: UserDetailPart<T>, render: (value: T) => unknown): Json {
  if (part.ok) return { ok: true, value: render(part.value) };
  const { reason, code, message, hint } = part.failure;
  return { ok: false, error: { reason, code, message, hint } };
}

function failedLoginJson(login: FailedLogin): Json {
  return {
    time: login.time,
    app: login.appName,
    aud: login.aud,
    ray_id: login.rayId,
    user_email: login.userEmail,
    expires_at: iso(login.expiresAtMs),
  };
}

function sessionJson(session: ActiveSession): Json {
  return {
    name: session.name,
    nonce: session.nonce,
    issued_at: iso(session.issuedAtMs),
    expires_at: iso(session.expiresAtMs),
    ttl_secs: session.ttlSecs,
    apps: session.apps.map((app) => ({
      key: app.key,
      name: app.name,
      hostname: app.hostname,
      type: app.type,
      uid: app.uid,
    })),
  };
}

function identityJson(identity: LastSeenIdentity): Json {
  return {
    email: identity.email,
    user_uuid: identity.userUuid,
    idp: { id: identity.idpId, type: identity.idpType },
    ip: identity.ip,
    country: identity.country,
    is_warp: identity.isWarp,
    is_gateway: identity.isGateway,
    device_id: identity.deviceId,
    device_session_count: identity.deviceSessionCount,
    seen_at: iso(identity.issuedAtMs),
    device_posture: identity.devicePosture.map((result) => ({
      id: result.id,
      rule_name: result.ruleName,
      type: result.type,
      success: result.success,
      error: result.error,
      timestamp: result.timestamp,
    })),
  };
}

function toJson(investigation: Investigation): Json {
  const { user, details } = investigation;
  const attribute = (key: string): unknown => user.attributes[key] ?? null;
  return {
    source: user.sourceName,
    account_id: investigation.accountId,
    user: {
      id: user.id,
      email: emailOf(user),
      name: attribute('name'),
      access_seat: attribute('access_seat'),
      gateway_seat: attribute('gateway_seat'),
      last_successful_login: attribute('last_successful_login'),
      active_device_count: attribute('active_device_count'),
      snapshot_taken_at: iso(user.takenAt),
    },
    failed_logins: partJson(details.failedLogins, (logins) => sortedLogins(logins).map(failedLoginJson)),
    active_sessions: partJson(details.activeSessions, (sessions) => sessions.map(sessionJson)),
    last_seen_identity: partJson(details.lastSeenIdentity, identityJson),
    inferred_groups: investigation.groups,
    recent_access_events: investigation.events.map(eventToRecord),
  };
}

function storedOnlyJson({ subject, sourceName, events }: StoredOnly): Json {
  return {
    subject,
    source: sourceName ?? null,
    in_inventory: false,
    recent_events: events.map(eventToRecord),
  };
}

function sortedLogins(logins: readonly FailedLogin[]): readonly FailedLogin[] {
  return [...logins].sort((a, b) => (b.timeMs ?? -Infinity) - (a.timeMs ?? -Infinity));
}

// --- Text ---------------------------------------------------------------------------------------------------

function cell(value: string | null | undefined, maxWidth = MAX_CELL): string {
  if (value === null || value === undefined || value === '') return '-';
  const text = visible(value);
  return text.length > maxWidth ? `${text.slice(0, maxWidth - 1)}…` : text;
}

function yesNo(value: unknown): string {
  return value === true ? 'yes' : value === false ? 'no' : '-';
}

function facts(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, text]) => `  ${label.padEnd(width)}  ${text}`).join('\n');
}

function failureText(title: string, failure: UserDetailFailure): string {
  const lines = [`${title}: not available. ${visible(failure.message)}`];
  if (failure.hint !== null) lines.push(`  hint: ${visible(failure.hint)}`);
  return lines.join('\n');
}

function userSection({ user, accountId }: Investigation): string {
  const attribute = (key: string): unknown => user.attributes[key];
  const name = attribute('name');
  const devices = attribute('active_device_count');
  const last = attribute('last_successful_login');
  return [
    `User ${cell(emailOf(user), 200)}${typeof name === 'string' && name !== '' ? ` (${cell(name)})` : ''}`,
    facts([
      ['id', cell(user.id)],
      ['source', `${cell(user.sourceName)} (account ${accountId})`],
      ['seats', `Access ${yesNo(attribute('access_seat'))}, Gateway ${yesNo(attribute('gateway_seat'))}`],
      ['last successful login', typeof last === 'string' ? cell(last) : '-'],
      ['active devices', typeof devices === 'number' ? String(devices) : '-'],
      ['inventory snapshot', iso(user.takenAt) ?? '-'],
    ]),
  ].join('\n');
}

function failedLoginsSection(part: UserDetailPart<readonly FailedLogin[]>): string {
  const title = 'Failed logins (live)';
  if (!part.ok) return failureText(title, part.failure);
  if (part.value.length === 0) return `${title}: none that Cloudflare still keeps.`;
  const shown = sortedLogins(part.value).slice(0, MAX_FAILED_LOGIN_ROWS);
  const rows = shown.map((login) => [
    cell(iso(login.timeMs) ?? login.time),
    cell(login.appName ?? login.aud),
    cell(login.rayId),
  ]);
  const more = shown.length < part.value.length ? ` (the latest ${shown.length}; --format json lists them all)` : '';
  return `${title}: ${part.value.length}${more}\n${renderTable(['time', 'app', 'ray id'], rows)}`;
}

function sessionsSection(part: UserDetailPart<readonly ActiveSession[]>): string {
  const title = 'Active sessions (live)';
  if (!part.ok) return failureText(title, part.failure);
  if (part.value.length === 0) return `${title}: none.`;
  const rows = part.value.map((session) => [
    cell(iso(session.issuedAtMs)),
    cell(iso(session.expiresAtMs)),
    cell(session.apps.map((app) => app.name ?? app.hostname ?? app.key).join(', ') || null, 80),
  ]);
  return `${title}: ${part.value.length}\n${renderTable(['issued', 'expires', 'apps'], rows)}`;
}

function postureSummary(identity: LastSeenIdentity): string {
  const results = identity.devicePosture;
  if (results.length === 0) return 'no posture results';
  const failing = results.filter((result) => result.success !== true);
  const passed = results.length - failing.length;
  const names = failing.map((result) => cell(result.ruleName ?? result.type ?? result.id, 40));
  return `${passed} of ${results.length} checks passed${names.length === 0 ? '' : `; failing: ${names.join(', ')}`}`;
}

function identitySection(part: UserDetailPart<LastSeenIdentity>, groups: readonly StoredGroup[]): string {
  const title = 'Last seen identity (live)';
  const groupText =
    groups.length === 0
      ? '-'
      : `${groups.map((group) => cell(group.name, 40)).join(', ')} (inferred from inventory group rules)`;
  if (!part.ok) return `${failureText(title, part.failure)}\n${facts([['groups', groupText]])}`;
  const identity = part.value;
  const idp =
    identity.idpType === null && identity.idpId === null
      ? '-'
      : `${cell(identity.idpType)}${identity.idpId === null ? '' : ` (${cell(identity.idpId)})`}`;
  return [
    title,
    facts([
      ['seen at', iso(identity.issuedAtMs) ?? '-'],
      ['IdP', idp],
      ['IP', `${cell(identity.ip)}${identity.country === null ? '' : ` (${cell(identity.country)})`}`],
      ['WARP / Gateway', `${yesNo(identity.isWarp)} / ${yesNo(identity.isGateway)}`],
      ['device', cell(identity.deviceId)],
      ['device posture', postureSummary(identity)],
      ['groups', groupText],
    ]),
  ].join('\n');
}

function eventsSection(events: readonly NormalizedEvent[]): string {
  const title = 'Recent access events (stored)';
  if (events.length === 0)
    return `${title}: none stored for this user yet; zerotrail collect gathers them from the Access log.`;
  return `${title}: latest ${events.length}\n${eventsToTable(events)}`;
}

function storedOnlyText({ subject, sourceName, events }: StoredOnly): string {
  const shown = cell(subject, 200);
  // Only a plain address is put into a command to copy: anything else would need quoting for the shell too.
  const more = /^[\w.@+-]+$/.test(subject)
    ? `zerotrail search 'user:${subject}' lists every stored event of it.`
    : 'zerotrail search with user:"…" lists every stored event of it.';
  return [
    [
      `User ${shown}: not in the inventory${inventoryOf(sourceName)}. It may have been deleted in Cloudflare, or never`,
      'been an Access user of the account; there is no user id to read its live state by. What the store holds:',
    ].join('\n'),
    `Recent events (stored): latest ${events.length}\n${eventsToTable(events)}`,
    more,
  ].join('\n\n');
}

function toText(investigation: Investigation): string {
  const { details } = investigation;
  return [
    userSection(investigation),
    failedLoginsSection(details.failedLogins),
    sessionsSection(details.activeSessions),
    identitySection(details.lastSeenIdentity, investigation.groups),
    eventsSection(investigation.events),
  ].join('\n\n');
}
