import { z } from 'zod';
import { testSourceConnection, type App } from '../../app.js';
import { isAppError, NotFoundError, SourceError } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { sourceNameSchema } from '../../core/source-name.js';
import { isSourcePaused, SourceHealthCache } from '../../pipeline/source-health.js';
import { failUnlessRequiredReadable } from '../../sources/cloudflare/connection-test.js';
import type { ConnectionReport } from '../../sources/cloudflare/connection-test.js';
import { ACCOUNT_ID_PATTERN } from '../../sources/cloudflare/config.js';
import type { StoredSource } from '../../store/store.js';
import { signedIn } from '../auth/authenticate.js';
import { defineRoute, type Route } from './route.js';

const nameParams = z.object({ name: z.string().min(1).max(100) });

// Messages never echo the value: this field holds a credential.
const apiToken = z
  .string()
  .trim()
  .transform((token) => token.replace(/^bearer\s+/i, '').trim())
  .refine((token) => token.length >= 20 && token.length <= 1000, 'the API token must have 20 to 1000 characters')
  .refine(
    (token) => /^[\x21-\x7e]+$/.test(token) && !/["']/.test(token),
    'the API token must be one word of printable characters, without spaces or quotes',
  );

const accountId = z
  .string()
  .trim()
  .regex(ACCOUNT_ID_PATTERN, 'the Account ID must be 32 hexadecimal characters')
  .transform((id) => id.toLowerCase());

const addBody = z.object({ apiToken, accountId, name: sourceNameSchema });

const testBody = z.object({ apiToken, accountId });

// The name is not editable: every stored event carries it, and a rename would split a source's history.
const editBody = z
  .object({ apiToken: apiToken.optional(), accountId: accountId.optional() })
  .refine((body) => body.apiToken !== undefined || body.accountId !== undefined, {
    message: 'give a new API token, a new Account ID, or both',
  });

// One health cache per opened installation, shared by every request the server answers.
const healthCaches = new WeakMap<App, SourceHealthCache>();

function healthCache(app: App): SourceHealthCache {
  let cache = healthCaches.get(app);
  if (cache === undefined) {
    cache = new SourceHealthCache(app);
    healthCaches.set(app, cache);
  }
  return cache;
}

export const LIST_SOURCES_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/sources',
  summary: 'Data sources with the health of each dataset (the token never: only its last 4 characters)',
  access: ['admin', 'analyst', 'viewer'],
  handler: async ({ services }) => {
    const sources = await services.app.store.listSources();
    const described = [];
    for (const stored of sources) described.push(await describeSource(services.app, stored));
    // Every collector, this server's own included, heartbeats as a node: none alive means nothing collects (an
    // API-only or --no-collect server with no collector elsewhere), which the health of each dataset cannot say.
    const collectors = (await services.app.store.liveNodes()).length;
    return { sources: described, collectors };
  },
});

export const ADD_SOURCE_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/sources',
  summary: 'Add a Cloudflare Zero Trust data source after testing its connection',
  access: ['admin'],
  body: addBody,
  status: 201,
  handler: async ({ body, principal, request, services }) => {
    const { app } = services;
    const caller = signedIn(principal);
    const audit = (outcome: 'success' | 'failure', details: Record<string, unknown>): Promise<void> =>
      services.audit({
        actor: caller.name,
        action: 'source_added',
        target: body.name,
        outcome,
        ip: request.ip,
        details: { accountId: body.accountId, ...details },
      });
    if ((await app.store.getSource(body.name)) !== undefined) {
      await audit('failure', { code: 'SOURCE_ALREADY_EXISTS' });
      throw new SourceError('SOURCE_ALREADY_EXISTS', { message: `A data source named "${body.name}" already exists.` });
    }
    const token = new Secret(body.apiToken);
    let report: ConnectionReport;
    try {
      report = await testSourceConnection(app, { accountId: body.accountId, token });
      refuseWithoutBasePermissions(report, 'test the connection and add the data source again');
    } catch (error) {
      await audit('failure', { code: isAppError(error) ? error.code : 'INTERNAL' });
      throw error;
    }
    await app.store.saveSource({
      name: body.name,
      type: 'cloudflare_zero_trust',
      accountId: body.accountId,
      tokenCiphertext: app.secrets.encrypt(token),
      tokenLastFour: token.lastFour(),
      createdAt: app.clock.now(),
      settings: {},
    });
    await audit('success', testAuditDetails(report));
    services.onSourcesChanged();
    const stored = await app.store.getSource(body.name);
    return {
      source: stored === undefined ? null : await describeSource(app, stored),
      connection: describeReport(report),
    };
  },
});

export const TEST_NEW_SOURCE_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/sources/test',
  summary: 'Test an API token and Account ID before saving them: token, account and each dataset with its permission',
  access: ['admin'],
  body: testBody,
  handler: async ({ body, principal, request, services }) => {
    const caller = signedIn(principal);
    const audit = (outcome: 'success' | 'failure', details: Record<string, unknown>): Promise<void> =>
      services.audit({
        actor: caller.name,
        action: 'source_tested',
        target: null,
        outcome,
        ip: request.ip,
        details: { accountId: body.accountId, saved: false, ...details },
      });
    let report: ConnectionReport;
    try {
      report = await testSourceConnection(services.app, {
        accountId: body.accountId,
        token: new Secret(body.apiToken),
      });
    } catch (error) {
      await audit('failure', { code: isAppError(error) ? error.code : 'INTERNAL' });
      throw error;
    }
    await audit(testOutcome(report), testAuditDetails(report));
    return { connection: describeReport(report) };
  },
});

export const TEST_SOURCE_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/sources/:name/test',
  summary: 'Test the connection of a stored data source: token, account and each dataset with its permission',
  access: ['admin'],
  params: nameParams,
  handler: async ({ params, principal, request, services }) => {
    const { app } = services;
    const caller = signedIn(principal);
    const stored = await app.store.getSource(params.name);
    if (stored === undefined) throw unknownSource(params.name);
    const rateShare = stored.settings['rate_share'];
    const baseUrl = stored.settings['api_base_url'];
    const report = await testSourceConnection(app, {
      accountId: stored.accountId,
      token: app.secrets.decrypt(stored.tokenCiphertext),
      ...(typeof rateShare === 'number' ? { rateShare } : {}),
      ...(typeof baseUrl === 'string' ? { baseUrl } : {}),
    });
    await services.audit({
      actor: caller.name,
      action: 'source_tested',
      target: stored.name,
      outcome: testOutcome(report),
      ip: request.ip,
      details: testAuditDetails(report),
    });
    return { connection: describeReport(report) };
  },
});

export const REMOVE_SOURCE_ROUTE = defineRoute({
  method: 'DELETE',
  url: '/api/sources/:name',
  summary: 'Remove a data source and its collection state; its stored events stay searchable until retention',
  access: ['admin'],
  params: nameParams,
  handler: async ({ params, principal, request, services }) => {
    const caller = signedIn(principal);
    if (!(await services.app.store.removeSource(params.name))) throw unknownSource(params.name);
    healthCache(services.app).forget(params.name);
    await services.audit({
      actor: caller.name,
      action: 'source_removed',
      target: params.name,
      outcome: 'success',
      ip: request.ip,
      details: {},
    });
    services.onSourcesChanged();
    return { removed: params.name, eventsKept: true };
  },
});

export const PAUSE_SOURCE_ROUTE = pauseRoute(true);
export const RESUME_SOURCE_ROUTE = pauseRoute(false);

/** Pausing stops collection from the source and keeps its cursors, so resuming picks up where it stopped. */
function pauseRoute(pause: boolean): Route {
  return defineRoute({
    method: 'POST',
    url: `/api/sources/:name/${pause ? 'pause' : 'resume'}`,
    summary: pause
      ? 'Pause collection from a data source; its cursors, health and stored events stay'
      : 'Resume collection from a paused data source where it stopped',
    access: ['admin'],
    params: nameParams,
    handler: async ({ params, principal, request, services }) => {
      const { app } = services;
      const caller = signedIn(principal);
      const stored = await app.store.getSource(params.name);
      if (stored === undefined) throw unknownSource(params.name);
      const changed = isSourcePaused(stored) !== pause;
      if (changed) {
        const settings: Record<string, unknown> = { ...stored.settings };
        if (pause) {
          settings['paused'] = true;
          settings['paused_at'] = app.clock.now();
          settings['paused_by'] = caller.name;
        } else {
          delete settings['paused'];
          delete settings['paused_at'];
          delete settings['paused_by'];
        }
        if (!(await app.store.updateSource({ ...stored, settings }, { resetCollection: false }))) {
          throw unknownSource(params.name);
        }
        healthCache(app).forget(stored.name);
      }
      await services.audit({
        actor: caller.name,
        action: pause ? 'source_paused' : 'source_resumed',
        target: stored.name,
        outcome: 'success',
        ip: request.ip,
        details: { changed },
      });
      if (changed) services.onSourcesChanged();
      const updated = await app.store.getSource(stored.name);
      return { source: updated === undefined ? null : await describeSource(app, updated) };
    },
  });
}

export const EDIT_SOURCE_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/sources/:name/edit',
  summary:
    'Replace the API token and/or the Account ID of a data source after testing the connection; the token is write-only',
  access: ['admin'],
  params: nameParams,
  body: editBody,
  handler: async ({ params, body, principal, request, services }) => {
    const { app } = services;
    const caller = signedIn(principal);
    const stored = await app.store.getSource(params.name);
    if (stored === undefined) throw unknownSource(params.name);
    const nextAccountId = body.accountId ?? stored.accountId;
    const token = body.apiToken === undefined ? app.secrets.decrypt(stored.tokenCiphertext) : new Secret(body.apiToken);
    const changes = [
      ...(body.apiToken === undefined ? [] : ['token']),
      ...(nextAccountId === stored.accountId ? [] : ['account_id']),
    ];
    const audit = (outcome: 'success' | 'failure', details: Record<string, unknown>): Promise<void> =>
      services.audit({
        actor: caller.name,
        action: 'source_updated',
        target: stored.name,
        outcome,
        ip: request.ip,
        details: { changes, accountId: nextAccountId, ...details },
      });
    const baseUrl = stored.settings['api_base_url'];
    const rateShare = stored.settings['rate_share'];
    let report: ConnectionReport;
    try {
      // The same re-verification as adding: a new token or account must reach every base dataset.
      report = await testSourceConnection(app, {
        accountId: nextAccountId,
        token,
        ...(typeof rateShare === 'number' ? { rateShare } : {}),
        ...(typeof baseUrl === 'string' ? { baseUrl } : {}),
      });
      refuseWithoutBasePermissions(report, 'verify and save the new values again');
    } catch (error) {
      await audit('failure', { code: isAppError(error) ? error.code : 'INTERNAL' });
      throw error;
    }
    const accountChanged = nextAccountId !== stored.accountId;
    const updated: StoredSource = {
      ...stored,
      accountId: nextAccountId,
      ...(body.apiToken === undefined
        ? {}
        : { tokenCiphertext: app.secrets.encrypt(token), tokenLastFour: token.lastFour() }),
    };
    // Another account's cursors and inventory would be wrong for this one: it starts like a new source.
    if (!(await app.store.updateSource(updated, { resetCollection: accountChanged }))) {
      throw unknownSource(params.name);
    }
    healthCache(app).forget(stored.name);
    await audit('success', testAuditDetails(report));
    services.onSourcesChanged();
    const saved = await app.store.getSource(stored.name);
    return {
      source: saved === undefined ? null : await describeSource(app, saved),
      connection: describeReport(report),
      collectionReset: accountChanged,
    };
  },
});

/**
 * A connection test succeeded only when every required dataset was read: one Cloudflare did not answer for (a
 * rate limit, an outage) proves the token no more than a missing permission does, and the web UI says so.
 */
function testOutcome(report: ConnectionReport): 'success' | 'failure' {
  return report.datasets.every((row) => !row.required || row.state === 'readable') ? 'success' : 'failure';
}

function testAuditDetails(report: ConnectionReport): Record<string, unknown> {
  return {
    readableDatasets: report.datasets.filter((row) => row.state === 'readable').length,
    uncheckedDatasets: report.datasets.filter((row) => row.state === 'unchecked').length,
  };
}

/** The same refusal as `source add`, with the per-dataset table in the details for the UI to show. */
function refuseWithoutBasePermissions(report: ConnectionReport, retry: string): void {
  try {
    failUnlessRequiredReadable(report, retry);
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw new SourceError(error.code, {
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      details: { datasets: describeReport(report).datasets },
      cause: error,
    });
  }
}

function describeReport(report: ConnectionReport): Record<string, unknown> {
  return {
    token: { status: report.token.status, expiresOn: report.token.expiresOn ?? null },
    warnings: report.warnings,
    requiredMissing: report.requiredMissing,
    datasets: report.datasets.map((row) => ({
      dataset: row.dataset,
      ok: row.ok,
      state: row.state,
      required: row.required,
      permission: row.permission,
      message: row.message,
    })),
  };
}

async function describeSource(app: App, stored: StoredSource): Promise<Record<string, unknown>> {
  const pausedAt = stored.settings['paused_at'];
  const pausedBy = stored.settings['paused_by'];
  return {
    name: stored.name,
    type: stored.type,
    accountId: stored.accountId,
    tokenLast4: stored.tokenLastFour === '' ? null : stored.tokenLastFour,
    createdAt: new Date(stored.createdAt).toISOString(),
    paused: isSourcePaused(stored),
    pausedAt: isSourcePaused(stored) && typeof pausedAt === 'number' ? new Date(pausedAt).toISOString() : null,
    pausedBy: isSourcePaused(stored) && typeof pausedBy === 'string' ? pausedBy : null,
    datasets: await healthCache(app).health(stored),
  };
}

function unknownSource(name: string): NotFoundError {
  return new NotFoundError('SOURCE_NOT_FOUND', { message: `No data source is named "${name.slice(0, 100)}".` });
}
