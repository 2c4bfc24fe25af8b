import type { NormalizedEvent } from '../core/event.js';
import type { InventoryEntity, InventoryKind } from '../core/inventory.js';
import { asRecord, flatString, sanitizeValue, wellFormed } from './schema.js';

/** The entities of one stored inventory snapshot and when it was taken. */
export interface InventorySnapshotView {
  readonly dataset: string;
  /** Epoch ms. */
  readonly takenAt: number;
  readonly entities: readonly InventoryEntity[];
  /**
   * Per entity, the time of an earlier snapshot that showed it just as this one does, with every snapshot
   * between agreeing (InventoryCache); `takenAt` for an entity not listed.
   */
  readonly unchangedSince?: ReadonlyMap<InventoryEntity, number>;
}

/** An entity together with the snapshot it came from. */
export interface InventoryViewEntry {
  readonly entity: InventoryEntity;
  readonly dataset: string;
  /** The snapshot's time, or that of the earliest snapshot known to have shown the entity just so. */
  readonly takenAt: number;
}

/** How a group's rules reach a user: by the exact e-mail, by its domain, or because they include everyone. */
export type GroupRuleMatch = 'email' | 'email_domain' | 'everyone';

/**
 * Lookup tables over the latest inventory of one source, built once by `buildInventoryView` so that
 * enriching an event costs a few map reads. Keys that compare case-insensitively are stored lower-cased.
 */
export interface InventoryView {
  readonly appsById: ReadonlyMap<string, InventoryViewEntry>;
  readonly identityProvidersById: ReadonlyMap<string, InventoryViewEntry>;
  /** By lower-cased IdP type; null when more than one IdP has that type, so the type alone cannot say which. */
  readonly identityProvidersByType: ReadonlyMap<string, InventoryViewEntry | null>;
  /** By lower-cased IdP name; null when the name is shared. */
  readonly identityProvidersByName: ReadonlyMap<string, InventoryViewEntry | null>;
  readonly usersByEmail: ReadonlyMap<string, InventoryViewEntry>;
  readonly groupsByEmail: ReadonlyMap<string, readonly InventoryViewEntry[]>;
  readonly groupsByDomain: ReadonlyMap<string, readonly InventoryViewEntry[]>;
  readonly groupsForEveryone: readonly InventoryViewEntry[];
  /** Per group id, the e-mails and domains its exclude rules name. */
  readonly groupExclusions: ReadonlyMap<
    string,
    { readonly emails: ReadonlySet<string>; readonly domains: ReadonlySet<string> }
  >;
}

const AUTHENTICATION_CLASS_UID = 3002;
/** `provider` of every enrichment zerotrail adds; enriching again replaces these and keeps any others. */
export const ENRICHMENT_PROVIDER = 'zerotrail inventory';

function latestByKindAndId(
  snapshots: readonly InventorySnapshotView[],
  kind: InventoryKind,
): Map<string, InventoryViewEntry> {
  const byId = new Map<string, InventoryViewEntry>();
  // Oldest first, so that when two snapshots hold the same entity the newer copy is the one kept.
  const order = (takenAt: number): number => (Number.isFinite(takenAt) ? takenAt : -Infinity);
  const ordered = [...snapshots].sort((a, b) => order(a.takenAt) - order(b.takenAt));
  for (const snapshot of ordered) {
    for (const entity of snapshot.entities) {
      if (entity.kind !== kind) continue;
      const takenAt = snapshot.unchangedSince?.get(entity) ?? snapshot.takenAt;
      byId.set(entity.id, { entity, dataset: snapshot.dataset, takenAt });
    }
  }
  return byId;
}

function uniqueBy(
  entries: Iterable<InventoryViewEntry>,
  keyOf: (entry: InventoryViewEntry) => string | null,
): Map<string, InventoryViewEntry | null> {
  const map = new Map<string, InventoryViewEntry | null>();
  for (const entry of entries) {
    const key = keyOf(entry);
    if (key === null) continue;
    map.set(key, map.has(key) ? null : entry);
  }
  return map;
}

function lowerString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.toLowerCase() : null;
}

function stringAttribute(entity: InventoryEntity, key: string): string | null {
  const value = entity.attributes[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

interface RuleTargets {
  readonly emails: Set<string>;
  readonly domains: Set<string>;
  everyone: boolean;
}

// Access rules are one-key objects: {email: {email}}, {email_domain: {domain}}, {everyone: {}} and many
// kinds (IdP groups, geography, device posture...) that the inventory alone cannot evaluate.
function ruleTargets(rules: unknown): RuleTargets {
  const targets: RuleTargets = { emails: new Set(), domains: new Set(), everyone: false };
  if (!Array.isArray(rules)) return targets;
  for (const item of rules as unknown[]) {
    const rule = asRecord(item);
    if (rule === null) continue;
    const email = lowerString(asRecord(rule['email'])?.['email']);
    if (email !== null) targets.emails.add(email);
    const domain = lowerString(asRecord(rule['email_domain'])?.['domain']);
    if (domain !== null) targets.domains.add(domain);
    if (asRecord(rule['everyone']) !== null) targets.everyone = true;
  }
  return targets;
}

function push(map: Map<string, InventoryViewEntry[]>, key: string, entry: InventoryViewEntry): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [entry]);
  else list.push(entry);
}

/**
 * Builds the lookup tables for `enrichAccessEvent` from the latest snapshot of each inventory dataset of one
 * source. Call it when a snapshot changes, not per event. Never throws on odd entity attributes.
 */
export function buildInventoryView(snapshots: readonly InventorySnapshotView[]): InventoryView {
  const idps = latestByKindAndId(snapshots, 'identity_provider');
  const users = latestByKindAndId(snapshots, 'user');
  const usersByEmail = new Map<string, InventoryViewEntry>();
  for (const entry of users.values()) {
    const email = lowerString(entry.entity.attributes['email']) ?? lowerString(entry.entity.name);
    // The first user listed keeps an e-mail that two user records share.
    if (email !== null && !usersByEmail.has(email)) usersByEmail.set(email, entry);
  }

  const groupsByEmail = new Map<string, InventoryViewEntry[]>();
  const groupsByDomain = new Map<string, InventoryViewEntry[]>();
  const groupsForEveryone: InventoryViewEntry[] = [];
  const groupExclusions = new Map<string, { emails: Set<string>; domains: Set<string> }>();
  for (const entry of latestByKindAndId(snapshots, 'group').values()) {
    const include = ruleTargets(entry.entity.attributes['include']);
    const exclude = ruleTargets(entry.entity.attributes['exclude']);
    // A group that excludes everyone contains no one.
    if (exclude.everyone) continue;
    for (const email of include.emails) push(groupsByEmail, email, entry);
    for (const domain of include.domains) push(groupsByDomain, domain, entry);
    if (include.everyone) groupsForEveryone.push(entry);
    if (exclude.emails.size > 0 || exclude.domains.size > 0) {
      groupExclusions.set(entry.entity.id, { emails: exclude.emails, domains: exclude.domains });
    }
  }

  return {
    appsById: latestByKindAndId(snapshots, 'app'),
    identityProvidersById: idps,
    identityProvidersByType: uniqueBy(idps.values(), (entry) => lowerString(entry.entity.attributes['type'])),
    identityProvidersByName: uniqueBy(idps.values(), (entry) => lowerString(entry.entity.name)),
    usersByEmail,
    groupsByEmail,
    groupsByDomain,
    groupsForEveryone,
    groupExclusions,
  };
}

function isoTime(ms: number): string | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * What enriching needs per inventory entry and per e-mail, computed on first use and shared by every event
 * that matches: the enrichment `data` objects (sanitised, with their snapshot), and the groups of an e-mail.
 * The shared objects are frozen, so no event can change what another one carries.
 */
interface EnrichMemo {
  readonly data: Map<InventoryViewEntry, Map<string, Readonly<Record<string, unknown>>>>;
  readonly snapshots: Map<InventoryViewEntry, Readonly<Record<string, unknown>>>;
  /** Whole enrichments by their `data` and `value`: every part of one is fixed by those two. */
  readonly enrichments: WeakMap<Readonly<Record<string, unknown>>, Map<string, Readonly<Record<string, unknown>>>>;
  readonly groups: Map<string, EmailGroups>;
}

interface EmailGroups {
  /** One `data` object per snapshot the e-mail's groups come from, in the order of the groups. */
  readonly data: readonly { readonly entry: InventoryViewEntry; readonly data: Readonly<Record<string, unknown>> }[];
  /** `user.groups` for an event that has none. */
  readonly userGroups: readonly Readonly<Record<string, unknown>>[];
}

// A view lives as long as its snapshot; the memo goes with it.
const MEMOS = new WeakMap<InventoryView, EnrichMemo>();
// Distinct e-mails remembered per view; past it the memo starts over, so memory stays bounded.
const MAX_MEMO_EMAILS = 50_000;

function memoOf(view: InventoryView): EnrichMemo {
  let memo = MEMOS.get(view);
  if (memo === undefined) {
    memo = { data: new Map(), snapshots: new Map(), enrichments: new WeakMap(), groups: new Map() };
    MEMOS.set(view, memo);
  }
  return memo;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

function snapshotOf(memo: EnrichMemo, entry: InventoryViewEntry): Readonly<Record<string, unknown>> {
  let snapshot = memo.snapshots.get(entry);
  if (snapshot === undefined) {
    const takenAt = isoTime(entry.takenAt);
    snapshot = deepFreeze({ dataset: wellFormed(entry.dataset), ...(takenAt === null ? {} : { taken_at: takenAt }) });
    memo.snapshots.set(entry, snapshot);
  }
  return snapshot;
}

function buildData(
  memo: EnrichMemo,
  entry: InventoryViewEntry,
  data: Record<string, unknown>,
): Readonly<Record<string, unknown>> {
  return deepFreeze({ ...(sanitizeValue(data) as Record<string, unknown>), snapshot: snapshotOf(memo, entry) });
}

// The `data` of an enrichment from one entry; `tag` names which of the entry's enrichments it is.
function entryData(
  memo: EnrichMemo,
  entry: InventoryViewEntry,
  tag: string,
  build: () => Record<string, unknown>,
): Readonly<Record<string, unknown>> {
  let byTag = memo.data.get(entry);
  if (byTag === undefined) {
    byTag = new Map();
    memo.data.set(entry, byTag);
  }
  let data = byTag.get(tag);
  if (data === undefined) {
    data = buildData(memo, entry, build());
    byTag.set(tag, data);
  }
  return data;
}

function enrichment(
  name: string,
  value: string,
  type: string,
  entry: InventoryViewEntry,
  data: Readonly<Record<string, unknown>>,
  desc?: string,
): Record<string, unknown> {
  return {
    name,
    value: wellFormed(value),
    type,
    provider: ENRICHMENT_PROVIDER,
    ...(Number.isFinite(entry.takenAt) ? { created_time: entry.takenAt } : {}),
    ...(desc === undefined ? {} : { desc }),
    data,
  };
}

// Values seen per `data` (spellings of one e-mail, IdP protocols); past it the list starts over.
const MAX_MEMO_VALUES = 64;

/**
 * The enrichment for `data` and `value`, made once and then shared: events of the same user, app and IdP carry
 * the very same frozen objects instead of a new one each.
 */
function sharedEnrichment(
  memo: EnrichMemo,
  name: string,
  value: string,
  type: string,
  entry: InventoryViewEntry,
  data: Readonly<Record<string, unknown>>,
  desc?: string,
): Readonly<Record<string, unknown>> {
  let byValue = memo.enrichments.get(data);
  if (byValue === undefined) {
    byValue = new Map();
    memo.enrichments.set(data, byValue);
  }
  let made = byValue.get(value);
  if (made === undefined) {
    made = Object.freeze(enrichment(name, value, type, entry, data, desc));
    if (byValue.size >= MAX_MEMO_VALUES) byValue.clear();
    byValue.set(value, made);
  }
  return made;
}

function optional(key: string, value: string | null): Record<string, string> {
  return value === null ? {} : { [key]: wellFormed(value) };
}

type IdpMatch = { readonly entry: InventoryViewEntry; readonly by: 'id' | 'type' | 'name' };

// Access logs name the IdP in `connection`, which the API documents as the IdP type ("saml", "okta",
// "onetimepin"); an id or a display name is accepted too. A type or name that several IdPs share matches none.
function findIdp(view: InventoryView, connection: string): IdpMatch | null {
  const byId = view.identityProvidersById.get(connection);
  if (byId !== undefined) return { entry: byId, by: 'id' };
  const lower = connection.toLowerCase();
  const byType = view.identityProvidersByType.get(lower);
  if (byType != null) return { entry: byType, by: 'type' };
  const byName = view.identityProvidersByName.get(lower);
  return byName == null ? null : { entry: byName, by: 'name' };
}

interface GroupMatch {
  readonly entry: InventoryViewEntry;
  readonly by: GroupRuleMatch;
}

function findGroups(view: InventoryView, email: string): GroupMatch[] {
  const at = email.lastIndexOf('@');
  const domain = at === -1 ? null : email.slice(at + 1);
  const found = new Map<string, GroupMatch>();
  const add = (entries: readonly InventoryViewEntry[] | undefined, by: GroupRuleMatch): void => {
    for (const entry of entries ?? []) {
      if (!found.has(entry.entity.id)) found.set(entry.entity.id, { entry, by });
    }
  };
  add(view.groupsByEmail.get(email), 'email');
  if (domain !== null && domain !== '') add(view.groupsByDomain.get(domain), 'email_domain');
  add(view.groupsForEveryone, 'everyone');
  return [...found.values()]
    .filter(({ entry }) => {
      const excluded = view.groupExclusions.get(entry.entity.id);
      return (
        excluded === undefined || !(excluded.emails.has(email) || (domain !== null && excluded.domains.has(domain)))
      );
    })
    .sort((a, b) => {
      const byName = a.entry.entity.name.localeCompare(b.entry.entity.name, 'en');
      return byName !== 0
        ? byName
        : a.entry.entity.id < b.entry.entity.id
          ? -1
          : a.entry.entity.id > b.entry.entity.id
            ? 1
            : 0;
    });
}

// The groups of one (lower-cased) e-mail, worked out once per view.
function groupsOf(view: InventoryView, memo: EnrichMemo, email: string): EmailGroups {
  const cached = memo.groups.get(email);
  if (cached !== undefined) return cached;
  const groups = findGroups(view, email);
  // One enrichment per snapshot, so each says where its groups came from.
  const bySnapshot = new Map<string, GroupMatch[]>();
  for (const group of groups) {
    const key = `${group.entry.dataset}\u0000${group.entry.takenAt}`;
    const list = bySnapshot.get(key);
    if (list === undefined) bySnapshot.set(key, [group]);
    else list.push(group);
  }
  const data: { entry: InventoryViewEntry; data: Readonly<Record<string, unknown>> }[] = [];
  for (const matches of bySnapshot.values()) {
    const first = matches[0];
    if (first === undefined) continue;
    data.push({
      entry: first.entry,
      data: buildData(memo, first.entry, {
        groups: matches.map(({ entry, by }) => ({ uid: entry.entity.id, name: entry.entity.name, matched_by: by })),
        inferred: true,
      }),
    });
  }
  const result: EmailGroups = {
    data,
    userGroups: deepFreeze(
      groups.map(({ entry }) => ({
        uid: wellFormed(entry.entity.id),
        ...(entry.entity.name === '' ? {} : { name: wellFormed(entry.entity.name) }),
      })),
    ),
  };
  if (memo.groups.size >= MAX_MEMO_EMAILS) memo.groups.clear();
  memo.groups.set(email, result);
  return result;
}

const GROUP_MEMBERSHIP_DESC =
  'Inferred from Access group include and exclude rules that name the e-mail, its domain or everyone';

/**
 * An Access authentication event (OCSF 3002) with what the inventory knows about its application, identity
 * provider, user and the user's groups: `enrichments` entries naming the snapshot each fact came from, plus
 * `user.uid`, `user.full_name`, `user.groups` and `service.name` where the event lacks them, and the flat
 * `app` when it is null. Group membership is inferred from group include and exclude rules. The id never
 * changes; any other event, or one nothing in the view matches, is returned unchanged.
 */
export function enrichAccessEvent(event: NormalizedEvent, view: InventoryView): NormalizedEvent {
  if (event.classUid !== AUTHENTICATION_CLASS_UID) return event;
  const ocsf = event.ocsf;
  const memo = memoOf(view);
  const added: Record<string, unknown>[] = [];
  const changes: Record<string, unknown> = {};
  let flatApp = event.app;

  const app = event.appUid === null ? undefined : view.appsById.get(event.appUid);
  if (app !== undefined && event.appUid !== null) {
    const appName = app.entity.name === '' ? null : app.entity.name;
    const appType = stringAttribute(app.entity, 'type');
    added.push(
      sharedEnrichment(
        memo,
        'service.uid',
        event.appUid,
        'application',
        app,
        entryData(memo, app, 'app', () => ({
          uid: app.entity.id,
          ...optional('name', appName),
          ...optional('type', appType),
          ...optional('domain', stringAttribute(app.entity, 'domain')),
        })),
      ),
    );
    const service = asRecord(ocsf['service']) ?? {};
    if (appName !== null && typeof service['name'] !== 'string') {
      changes['service'] = { ...service, name: wellFormed(appName) };
    }
    if (flatApp === null && appName !== null) flatApp = flatString(appName);
  }

  const idp = event.idp === null ? null : findIdp(view, event.idp);
  if (idp !== null && event.idp !== null) {
    const protocol = ocsf['auth_protocol'];
    added.push(
      sharedEnrichment(
        memo,
        'auth_protocol',
        typeof protocol === 'string' ? protocol : event.idp,
        'identity_provider',
        idp.entry,
        entryData(memo, idp.entry, `idp:${idp.by}`, () => ({
          uid: idp.entry.entity.id,
          ...optional('name', idp.entry.entity.name === '' ? null : idp.entry.entity.name),
          ...optional('type', stringAttribute(idp.entry.entity, 'type')),
          matched_by: idp.by,
        })),
      ),
    );
  }

  if (event.user !== null) {
    const user = asRecord(ocsf['user']) ?? {};
    const emailValue = typeof user['email_addr'] === 'string' ? user['email_addr'] : event.user;
    const nextUser: Record<string, unknown> = { ...user };
    const known = view.usersByEmail.get(event.user);
    if (known !== undefined) {
      const fullName = stringAttribute(known.entity, 'name');
      added.push(
        sharedEnrichment(
          memo,
          'user.email_addr',
          emailValue,
          'user',
          known,
          entryData(memo, known, 'user', () => ({
            uid: known.entity.id,
            ...optional('name', fullName),
            ...optional('email', stringAttribute(known.entity, 'email')),
          })),
        ),
      );
      if (user['uid'] === undefined) nextUser['uid'] = wellFormed(known.entity.id);
      if (user['full_name'] === undefined && fullName !== null) nextUser['full_name'] = wellFormed(fullName);
    }
    const groups = groupsOf(view, memo, event.user);
    for (const { entry, data } of groups.data) {
      added.push(
        sharedEnrichment(memo, 'user.email_addr', emailValue, 'group_membership', entry, data, GROUP_MEMBERSHIP_DESC),
      );
    }
    if (groups.userGroups.length > 0 && user['groups'] === undefined) nextUser['groups'] = groups.userGroups;
    if (Object.keys(nextUser).length !== Object.keys(user).length) changes['user'] = nextUser;
  }

  if (added.length === 0) return event;
  // The same members in the same order as `{ ...ocsf, ...changes, enrichments }`, without the temporaries.
  const next: Record<string, unknown> = { ...ocsf };
  if (changes['service'] !== undefined) next['service'] = changes['service'];
  if (changes['user'] !== undefined) next['user'] = changes['user'];
  const previous = ocsf['enrichments'];
  next['enrichments'] = Array.isArray(previous)
    ? [...(previous as unknown[]).filter((item) => asRecord(item)?.['provider'] !== ENRICHMENT_PROVIDER), ...added]
    : added;
  return { ...event, app: flatApp, ocsf: next };
}
