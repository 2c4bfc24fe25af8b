import { z } from 'zod';
import { testSourceConnection, type App } from '../../app.js';
import { isAppError, NotFoundError, SourceError } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { sourceHealth } from '../../pipeline/source-health.js';
import { failWhenRequiredMissing } from '../../sources/cloudflare/connection-test.js';
import type { ConnectionReport } from '../../sources/cloudflare/connection-test.js';
import { ACCOUNT_ID_PATTERN } from '../../sources/cloudflare/config.js';
import type { StoredSource } from '../../store/store.js';
import { signedIn } from '../auth/authenticate.js';
import { defineRoute } from './route.js';

const sourceName = z
  .string()
  .trim()
  .min(1, 'a source name is required')
  .max(100, 'at most 100 characters')
  .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), 'control characters are not allowed');

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

const addBody = z.object({
  apiToken,
  accountId: z
    .string()
    .trim()
    .regex(ACCOUNT_ID_PATTERN, 'the Account ID must be 32 hexadecimal characters')
    .transform((id) => id.toLowerCase()),
  name: sourceName,
});

export const LIST_SOURCES_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/sources',
  summary: 'Data sources with the health of each dataset (the token never: only its last 4 characters)',
  access: ['admin', 'analyst', 'viewer'],
  handler: async ({ services }) => {
    const sources = await services.app.store.listSources();
    const described = [];
    for (const stored of sources) described.push(await describeSource(services.app, stored));
    return { sources: described };
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
      refuseWithoutBasePermissions(report);
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
    await audit('success', { readableDatasets: report.datasets.filter((row) => row.ok).length });
    services.onSourcesChanged();
    const stored = await app.store.getSource(body.name);
    return {
      source: stored === undefined ? null : await describeSource(app, stored),
      connection: describeReport(report),
    };
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
      outcome: report.requiredMissing ? 'failure' : 'success',
      ip: request.ip,
      details: { readableDatasets: report.datasets.filter((row) => row.ok).length },
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

/** The same refusal as `source add`, with the per-dataset table in the details for the UI to show. */
function refuseWithoutBasePermissions(report: ConnectionReport): void {
  try {
    failWhenRequiredMissing(report);
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
      required: row.required,
      permission: row.permission,
      message: row.message,
    })),
  };
}

async function describeSource(app: App, stored: StoredSource): Promise<Record<string, unknown>> {
  return {
    name: stored.name,
    type: stored.type,
    accountId: stored.accountId,
    tokenLast4: stored.tokenLastFour === '' ? null : stored.tokenLastFour,
    createdAt: new Date(stored.createdAt).toISOString(),
    datasets: await sourceHealth(app, stored),
  };
}

function unknownSource(name: string): NotFoundError {
  return new NotFoundError('SOURCE_NOT_FOUND', { message: `No data source is named "${name.slice(0, 100)}".` });
}
