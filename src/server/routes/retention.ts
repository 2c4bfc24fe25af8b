import { z } from 'zod';
import {
  MAX_RETENTION_DAYS,
  MIN_RETENTION_DAYS,
  RETENTION_SETTING,
  retentionPolicy,
  type RetentionPolicy,
} from '../../pipeline/retention.js';
import { signedIn } from '../auth/authenticate.js';
import { defineRoute } from './route.js';

const retentionBody = z.object({
  days: z
    .number()
    .int('a whole number of days')
    .min(MIN_RETENTION_DAYS, `at least ${MIN_RETENTION_DAYS} day`)
    .max(MAX_RETENTION_DAYS, `at most ${MAX_RETENTION_DAYS} days`),
});

export const GET_RETENTION_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/settings/retention',
  summary: 'How many days events are kept, and whether an admin or the config file chose it',
  access: ['admin'],
  handler: async ({ services }) => ({ retention: describe(await retentionPolicy(services.app)) }),
});

export const SET_RETENTION_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/settings/retention',
  summary: 'Set how many days events are kept (overrides retention.max_age_days); the hourly retention run applies it',
  access: ['admin'],
  body: retentionBody,
  handler: async ({ body, principal, request, services }) => {
    const caller = signedIn(principal);
    const before = await retentionPolicy(services.app);
    await services.app.store.setSetting(RETENTION_SETTING, String(body.days));
    await services.audit({
      actor: caller.name,
      action: 'retention_changed',
      target: 'retention',
      outcome: 'success',
      ip: request.ip,
      details: { fromDays: before.maxAgeDays, toDays: body.days },
    });
    return { retention: describe(await retentionPolicy(services.app)) };
  },
});

function describe(policy: RetentionPolicy): Record<string, unknown> {
  return {
    days: policy.maxAgeDays,
    origin: policy.origin,
    configDays: policy.configMaxAgeDays,
    minDays: MIN_RETENTION_DAYS,
    maxDays: MAX_RETENTION_DAYS,
  };
}
