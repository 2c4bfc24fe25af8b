import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import {
  failure,
  INVALID_TOKEN,
  MALFORMED_AUTHORIZATION,
  MISSING_CREDENTIALS,
  MISSING_PERMISSION,
  NO_ROUTE,
  RATE_LIMITED,
  unroutableAccount,
  WRONG_ACCOUNT,
} from './envelope.js';
import type { SimulatedResponse } from './envelope.js';
import { planAttacks } from './attack-scenarios.js';
import type { AttackScenario, AttackScenarioOptions, ScriptedAccessEvent } from './attack-scenarios.js';
import { EventRenderer } from './event-renderer.js';
import type { EventCore, RenderMode } from './event-renderer.js';
import { buildAccountHistory } from './account-history.js';
import type { SimulatorAdminTraffic } from './account-history.js';
import { renderAuditV1, renderAuditV2 } from './audit-render.js';
import { FaultInjector } from './faults.js';
import type { SimulatorFaults } from './faults.js';
import type { Inventory } from './inventory.js';
import type { InventoryChangeKind } from './inventory-changes.js';
import { buildOrganisation } from './organisation.js';
import { grants } from './permissions.js';
import { hash32 } from './prng.js';
import { RateLimiter } from './rate-limiter.js';
import { allRoutes, SIMULATOR_ROUTE_NAMES } from './routes/all-routes.js';
import type { Route, SimulatorData } from './routes/route.js';
import { createTimeline } from './timeline.js';
import type { ScriptedTimes, SimulatorTraffic } from './timeline.js';
import { resolveToken } from './tokens.js';
import type { SimulatorToken } from './tokens.js';

export type { SimulatorAdminTraffic } from './account-history.js';
export type { SimulatorFaults, FaultTrigger } from './faults.js';
export type { SimulatorTraffic } from './timeline.js';
export type { Inventory, SimulatedDevice } from './inventory.js';
export type { InventoryChangeKind } from './inventory-changes.js';
export { INVENTORY_CHANGE_KINDS, INVENTORY_CHANGE_OFFSETS_MS, NEW_USER } from './inventory-changes.js';
export type { SimulatorToken } from './tokens.js';
export type { AttackScenario, AttackScenarioKind, AttackScenarioOptions } from './attack-scenarios.js';
export { ATTACK_SCENARIO_KINDS, ATTACK_SCENARIO_RULES, SENSITIVE_APPLICATIONS } from './attack-scenarios.js';
export { DEFAULT_PERMISSIONS } from './tokens.js';
export { PERMISSIONS } from './permissions.js';
export { SIMULATOR_ROUTE_NAMES } from './routes/all-routes.js';

/** A scheduled inventory change; the audit logs report it at `atMs`. */
export interface ScheduledInventoryChange {
  readonly kind: InventoryChangeKind;
  readonly atMs: number;
  readonly description: string;
  /** Id of the changed object (the account id for the organization). */
  readonly resourceId: string;
}

export interface SimulatorOptions {
  host?: string | undefined;
  port?: number | undefined;
  /** Path prefix of the base URL; Cloudflare's is `/client/v4`. */
  pathPrefix?: string | undefined;
  seed?: number | undefined;
  clock?: Clock | undefined;
  accountId?: string | undefined;
  tokens?: readonly SimulatorToken[] | undefined;
  traffic?: SimulatorTraffic | undefined;
  adminTraffic?: SimulatorAdminTraffic | undefined;
  /**
   * Whether the inventory changes on a schedule relative to the start (default true; see
   * `INVENTORY_CHANGE_OFFSETS_MS`). With false it stays as built and the audit logs hold routine activity only.
   */
  inventoryChanges?: boolean | undefined;
  /**
   * Labelled attacks injected among the normal traffic, one or more of each kind (see attack-scenarios.ts); their
   * labels are read through `attackScenarios()`, never through the API. Several windows may be given. Default none.
   */
  attacks?: AttackScenarioOptions | readonly AttackScenarioOptions[] | undefined;
  maxPageSize?: number | undefined;
  rateLimit?: { requests: number; windowSecs: number } | undefined;
  faults?: SimulatorFaults | undefined;
  /** How many recent requests `requestLog()` keeps (default 10,000). */
  requestLogSize?: number | undefined;
}

export interface SimulatorRequestLogEntry {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** 0 when the connection was reset on purpose. */
  readonly status: number;
}

/** A running Cloudflare API simulator. */
export interface Simulator {
  readonly baseUrl: string;
  /** The first configured token. */
  readonly token: string;
  readonly accountId: string;
  stop(): Promise<void>;
  setFaults(faults: SimulatorFaults): void;
  /** Every event with created_at in [fromMs, toMs), visible or not, as the API would render them, oldest first. */
  eventsBetween(fromMs: number, toMs: number): readonly Record<string, unknown>[];
  /** Every SCIM update with logged_at in [fromMs, toMs), whatever the clock, as the API renders them, oldest first. */
  scimUpdatesBetween(fromMs: number, toMs: number): readonly Record<string, unknown>[];
  /** Every audit entry with time in [fromMs, toMs), whatever the clock, as that API version renders them, oldest first. */
  auditLogsBetween(fromMs: number, toMs: number, version: 'v1' | 'v2'): readonly Record<string, unknown>[];
  /** The inventory the inventory routes serve at `atMs` (default: now). */
  inventory(atMs?: number): Inventory;
  /**
   * From the clock's now on, the inventory routes serve what `change` returns for the current inventory. Scheduled
   * changes after now apply on top of it. The change is re-applied whenever the state is rebuilt, so it must be
   * pure; it writes no audit entry. A throwing change is not kept.
   */
  updateInventory(change: (current: Inventory) => Inventory): void;
  /** The scheduled inventory changes, oldest first. */
  inventoryChanges(): readonly ScheduledInventoryChange[];
  /** The labels of the injected attacks, oldest first (none unless `attacks` was given). */
  attackScenarios(): readonly AttackScenario[];
  readonly stats: { requests: number; byStatus: Record<number, number> };
  /** The most recent requests (at most `requestLogSize`), oldest first. */
  requestLog(): readonly SimulatorRequestLogEntry[];
}

export const DEFAULT_ACCOUNT_ID = '5e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b';
export const DEFAULT_TOKEN = 'Zt7qK2mN9pR4sV8xB3cF6hJ1lW5yD0gT2nQ8eA4u';

const ACCOUNT_ID = /^[0-9a-f]{32}$/;
// RFC 6750 token68 characters; Cloudflare answers 6003/6111 for quotes, inner whitespace or a doubled "Bearer".
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
const EDGE_ERRORS: Readonly<Record<number, string>> = {
  500: 'Internal server error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway time-out',
  520: 'Web server is returning an unknown error',
  521: 'Web server is down',
  522: 'Connection timed out',
};

interface Outcome {
  readonly response: SimulatedResponse;
  readonly reset: boolean;
  readonly delayMs: number;
}

function edgeErrorPage(status: number, rayId: string): SimulatedResponse {
  const title = EDGE_ERRORS[status] ?? 'Error';
  return {
    status,
    headers: { 'content-type': 'text/html; charset=UTF-8' },
    body:
      `<!DOCTYPE html>\n<html lang="en-US"><head><title>api.cloudflare.com | ${status}: ${title}</title></head>` +
      `<body><div id="cf-error-details"><h1>${title}</h1><span>Error code ${status}</span>` +
      `<p>Cloudflare Ray ID: <strong>${rayId}</strong></p></div></body></html>\n`,
  };
}

// Scripted events take serials above every generated day's and below the fault bursts' (see timeline.ts).
const SCRIPTED_SERIAL_BASE = 2 ** 49;

function scriptedAccess(
  org: ReturnType<typeof buildOrganisation>,
  events: readonly ScriptedAccessEvent[],
): { cores: Map<number, EventCore>; times: ScriptedTimes } {
  const cores = new Map<number, EventCore>();
  const times = new Float64Array(events.length);
  events.forEach((e, i) => {
    times[i] = e.timeMs;
    cores.set(SCRIPTED_SERIAL_BASE + i, {
      user: Math.min(e.user, org.users.length - 1),
      app: e.app,
      idp: e.idp,
      action: e.action,
      allowed: e.allowed,
      ip: e.ip,
      rayId: e.rayId,
    });
  });
  return { cores, times: { times, serialBase: SCRIPTED_SERIAL_BASE } };
}

function matchRoute(path: string): { route: Route; match: RegExpExecArray } | undefined {
  for (const route of allRoutes) {
    const match = route.pattern.exec(path);
    if (match !== null) return { route, match };
  }
  return undefined;
}

/** Starts the simulator on `host:port` (default 127.0.0.1, a free port) and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 1;
  const clock = options.clock ?? systemClock;
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const prefix = (options.pathPrefix ?? '/client/v4').replace(/\/+$/, '');
  const tokens =
    options.tokens !== undefined && options.tokens.length > 0 ? options.tokens : [{ value: DEFAULT_TOKEN }];
  const maxPageSize = options.maxPageSize ?? 1000;
  const limiter = new RateLimiter(options.rateLimit?.requests ?? 1200, options.rateLimit?.windowSecs ?? 300, clock);
  let injector = new FaultInjector(options.faults ?? {}, seed, SIMULATOR_ROUTE_NAMES);
  const startMs = clock.now();
  const org = buildOrganisation(seed);
  const attacks = options.attacks === undefined ? undefined : planAttacks(seed, org, startMs, options.attacks);
  const scripted = scriptedAccess(org, attacks?.access ?? []);
  const renderer = new EventRenderer(seed, org, scripted.cores);
  const { inventory, changes, scimLog, auditLog, accountName } = buildAccountHistory(seed, accountId, org, startMs, {
    inventoryChanges: options.inventoryChanges,
    adminTraffic: options.adminTraffic,
    attacks,
  });
  const timeline = createTimeline(
    options.traffic ?? { kind: 'organic' },
    seed,
    clock,
    () => injector.faults.bursts ?? [],
    scripted.times,
  );
  const stats = { requests: 0, byStatus: {} as Record<number, number> };
  const logSize = Math.max(1, options.requestLogSize ?? 10_000);
  const log: SimulatorRequestLogEntry[] = [];
  let logNext = 0;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let rayCounter = 0;

  const renderMode = (): RenderMode => ({
    hostileFraction: injector.faults.hostileValues?.fraction ?? 0,
    timestampOffsets: injector.faults.timestampOffsets === true,
  });

  const record = (entry: SimulatorRequestLogEntry): void => {
    stats.requests++;
    stats.byStatus[entry.status] = (stats.byStatus[entry.status] ?? 0) + 1;
    if (log.length < logSize) log.push(entry);
    else log[logNext] = entry;
    logNext = (logNext + 1) % logSize;
  };

  const dispatch = (req: IncomingMessage, path: string, query: URLSearchParams, rayId: string): Outcome => {
    const plain = (response: SimulatedResponse): Outcome => ({ response, reset: false, delayMs: 0 });
    if (req.method !== 'GET' || !(path === prefix || path.startsWith(`${prefix}/`)))
      return plain(failure(404, NO_ROUTE));
    const routePath = path.slice(prefix.length);
    const found = matchRoute(routePath);
    if (found === undefined) return plain(failure(404, NO_ROUTE));
    const { route, match } = found;
    const pathAccount = route.accountScoped ? match[1] : undefined;
    if (pathAccount !== undefined && !ACCOUNT_ID.test(pathAccount))
      return plain(failure(400, unroutableAccount(routePath)));

    // Edge faults come first: Cloudflare's edge answers them before the API looks at credentials.
    const delayMs = injector.fires('slow', route.name) ? (injector.faults.slow?.delayMs ?? 0) : 0;
    const reset = injector.fires('connectionReset', route.name);
    const withFaults = (response: SimulatedResponse): Outcome => ({ response, reset, delayMs });
    if (injector.fires('serverError', route.name))
      return withFaults(
        edgeErrorPage(injector.pick(injector.faults.serverError?.statuses ?? [502, 503, 520]) ?? 502, rayId),
      );
    if (injector.fires('rateLimit', route.name)) {
      const retryAfter = String(injector.faults.rateLimit?.retryAfterSecs ?? 1);
      return withFaults({ ...failure(429, RATE_LIMITED), headers: { 'retry-after': retryAfter } });
    }

    const authorization = req.headers.authorization;
    if (authorization === undefined || authorization === '') return withFaults(failure(400, MISSING_CREDENTIALS));
    const bearer = BEARER.exec(authorization);
    if (bearer === null) return withFaults(failure(400, MALFORMED_AUTHORIZATION));
    const configured = tokens.find((t) => t.value === bearer[1]);
    if (configured === undefined) return withFaults(failure(403, INVALID_TOKEN));
    const limit = limiter.take(configured.value);
    if (!limit.allowed)
      return withFaults({ ...failure(429, RATE_LIMITED), headers: { 'retry-after': String(limit.resetSecs) } });
    const token = resolveToken(configured, accountId, clock.now());
    if (token.status !== 'active' && route.answersInactiveTokens !== true)
      return withFaults(failure(403, INVALID_TOKEN));
    if (pathAccount !== undefined && !token.accountIds.includes(pathAccount))
      return withFaults(failure(403, WRONG_ACCOUNT));
    if (route.permission !== undefined && !grants(token.permissions, route.permission))
      return withFaults(failure(403, MISSING_PERMISSION));

    const lateEvents = injector.faults.lateEvents;
    const nowMs = clock.now();
    const data: SimulatorData = {
      seed,
      accountId,
      maxPageSize,
      timeline,
      renderer,
      mode: renderMode(),
      visibility: { nowMs, ...(lateEvents === undefined ? {} : { late: lateEvents }) },
      nowMs,
      inventory: inventory.at(nowMs),
      accountName,
      scimLog,
      auditLog,
      tokens: () => tokens.map((t) => resolveToken(t, accountId, nowMs)),
    };
    let response = route.handle({ token, accountId: pathAccount, params: match.slice(1), query, data });
    if (response.status === 200 && injector.fires('truncatedJson', route.name)) {
      response = { ...response, body: response.body.slice(0, Math.max(1, Math.floor(response.body.length * 0.6))) };
    }
    return withFaults(response);
  };

  const send = (res: ServerResponse, outcome: Outcome, rayId: string, rateKey: string | undefined): void => {
    const { response } = outcome;
    const body = Buffer.from(response.body, 'utf8');
    const limit =
      rateKey === undefined ? { remaining: limiter.requests, resetSecs: limiter.windowSecs } : limiter.peek(rateKey);
    res.writeHead(response.status, {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'cf-ray': `${rayId}-SIM`,
      // Header format from Cloudflare's 2025-09-03 changelog ("new headers for rate limiting on Cloudflare's API").
      ratelimit: `"default";r=${limit.remaining};t=${limit.resetSecs}`,
      'ratelimit-policy': `"default";q=${limiter.requests};w=${limiter.windowSecs}`,
      ...response.headers,
    });
    if (outcome.reset) {
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      res.socket?.destroy();
      return;
    }
    res.end(body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    rayCounter++;
    const rayId =
      hash32(seed, rayCounter, 0x4a).toString(16).padStart(8, '0') + rayCounter.toString(16).padStart(8, '0');
    let outcome: Outcome;
    try {
      outcome = dispatch(req, url.pathname, url.searchParams, rayId);
    } catch (error) {
      // A simulator bug must still look like an API failure, never hang the client; the message helps debug it.
      const message = `Internal error in the simulator: ${error instanceof Error ? error.message : String(error)}`;
      outcome = { response: failure(500, { code: 1000, message }), reset: false, delayMs: 0 };
    }
    const authorization = BEARER.exec(req.headers.authorization ?? '');
    const rateKey = tokens.find((t) => t.value === authorization?.[1])?.value;
    const entry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      status: outcome.reset ? 0 : outcome.response.status,
    };
    const finish = (): void => {
      record(entry);
      send(res, outcome, rayId, rateKey);
    };
    if (outcome.delayMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        finish();
      }, outcome.delayMs);
      timers.add(timer);
    } else finish();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let stopping: Promise<void> | undefined;

  return {
    baseUrl: `http://${host}:${address.port}${prefix}`,
    token: tokens[0]?.value ?? DEFAULT_TOKEN,
    accountId,
    stats,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return stopping;
    },
    setFaults(faults) {
      injector = new FaultInjector(faults, seed, SIMULATOR_ROUTE_NAMES);
    },
    eventsBetween(fromMs, toMs) {
      const mode = renderMode();
      const out: Record<string, unknown>[] = [];
      for (const piece of timeline.pieces(fromMs, toMs)) {
        for (let i = piece.from; i < piece.to; i++)
          out.push(renderer.object(piece.times[i] ?? 0, piece.serialBase + i, mode));
      }
      return out;
    },
    scimUpdatesBetween(fromMs, toMs) {
      return scimLog.between(fromMs, toMs).map((record) => record.json);
    },
    auditLogsBetween(fromMs, toMs, version) {
      return auditLog
        .between(fromMs, toMs)
        .map((entry) =>
          version === 'v1'
            ? renderAuditV1(entry, accountId)
            : renderAuditV2(entry, { id: accountId, name: accountName }),
        );
    },
    inventory(atMs) {
      return inventory.at(atMs ?? clock.now());
    },
    updateInventory(change) {
      inventory.update(change, clock.now());
    },
    inventoryChanges() {
      return changes.map((c) => ({
        kind: c.kind,
        atMs: c.atMs,
        description: c.description,
        resourceId: c.resource.id,
      }));
    },
    attackScenarios() {
      return attacks?.scenarios ?? [];
    },
    requestLog() {
      return log.length < logSize ? [...log] : [...log.slice(logNext), ...log.slice(0, logNext)];
    },
  };
}
