import { afterEach, expect } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { Secret } from '../../src/core/secret.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { CloudflareClient } from '../../src/sources/cloudflare/client.js';
import { RateBudget } from '../../src/sources/cloudflare/rate-budget.js';
import { validateRequest, validateResponse } from './openapi.js';

/**
 * Returns a `start` function for one test file: each call starts a simulator from fresh defaults (a new
 * clock each time, so tests never share time) overridden by the call's options, and every simulator a test
 * started is stopped after it.
 */
export function trackedSimulators(
  defaults: () => SimulatorOptions,
): (options?: SimulatorOptions) => Promise<Simulator> {
  const running: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((simulator) => simulator.stop()));
  });
  return async (options = {}) => {
    const simulator = await startSimulator({ ...defaults(), ...options });
    running.push(simulator);
    return simulator;
  };
}

/**
 * A client of `simulator` under Cloudflare's default limit, all of it its own, retrying within milliseconds: a
 * test waits on the simulator's faults, not on the backoff that rides them out.
 */
export function simulatorClient(
  simulator: Pick<Simulator, 'baseUrl' | 'accountId' | 'token'>,
  options: {
    readonly clock: Clock;
    readonly token?: string;
    readonly logger?: Logger;
    readonly metrics?: Metrics;
    readonly maxAttempts?: number;
  },
): CloudflareClient {
  const { clock } = options;
  return new CloudflareClient({
    baseUrl: simulator.baseUrl,
    accountId: simulator.accountId,
    token: new Secret(options.token ?? simulator.token),
    timeoutMs: 10_000,
    rateBudget: new RateBudget({ requests: 1200, windowSecs: 300, share: 1, clock }),
    logger: options.logger ?? silentLogger(),
    metrics: options.metrics ?? new Metrics(),
    clock,
    retryPolicy: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: options.maxAttempts ?? 5 },
  });
}

export interface SimulatorReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

export interface CheckedGetOptions {
  /** Bearer token (default: the simulator's first token). */
  readonly token?: string;
  /** Skip the request check, for requests a test sends on purpose against the spec. */
  readonly invalidRequest?: boolean;
}

/**
 * GETs `path` (below the base URL) and checks both sides against the published spec: the request must be one a
 * client could send (unless `invalidRequest`), and the response must match the schema for its status.
 */
export async function checkedGet(
  sim: Simulator,
  path: string,
  options: CheckedGetOptions = {},
): Promise<SimulatorReply> {
  const url = `${sim.baseUrl}${path}`;
  if (options.invalidRequest !== true)
    expect({ path, problems: validateRequest('GET', url) }).toEqual({ path, problems: [] });
  const res = await fetch(url, { headers: { authorization: `Bearer ${options.token ?? sim.token}` } });
  const body = JSON.parse(await res.text()) as Record<string, unknown>;
  expect({ path, problems: validateResponse('GET', url, res.status, body) }).toEqual({ path, problems: [] });
  return { status: res.status, headers: res.headers, body };
}

/** The `result` array of a 200 reply. */
export function resultList(reply: SimulatorReply): Record<string, unknown>[] {
  expect(reply.status).toBe(200);
  return reply.body['result'] as Record<string, unknown>[];
}

/** The first entry of `errors`. */
export function firstError(reply: SimulatorReply): Record<string, unknown> {
  return (reply.body['errors'] as Record<string, unknown>[])[0] ?? {};
}
