import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import { parseTimeExpression } from '../../core/time-expression.js';
import { defineRoute } from './route.js';

const READERS = ['admin', 'analyst', 'viewer'] as const;

export const DASHBOARD_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/dashboard',
  summary:
    'Authentications over a period: allowed and denied over time, top users, applications, countries and IdPs, denials, counts per country and values first seen in it',
  access: READERS,
  query: z.object({
    from: z.string().min(1).max(100).default('-7d'),
    to: z.string().min(1).max(100).default('now'),
    source: z.string().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(10),
  }),
  handler: async ({ query, services }) => {
    const nowMs = services.app.clock.now();
    const fromMs = parseTimeExpression(query.from, nowMs, 'from');
    const toMs = parseTimeExpression(query.to, nowMs, 'to');
    if (fromMs >= toMs) {
      throw new AppError('HTTP_REQUEST_INVALID', {
        message: `The period is empty: from (${new Date(fromMs).toISOString()}) must be before to (${new Date(toMs).toISOString()}).`,
        hint: 'Pick a start time earlier than the end time.',
      });
    }
    return services.app.store.dashboard({
      fromMs,
      toMs,
      limit: query.limit,
      ...(query.source === undefined ? {} : { source: query.source }),
    });
  },
});
