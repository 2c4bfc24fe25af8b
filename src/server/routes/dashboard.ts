import { z } from 'zod';
import { wholeNumberText } from '../../core/number-text.js';
import { parseTimeRange } from '../../core/time-expression.js';
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
    limit: wholeNumberText((n) => n.min(1).max(100)).default(10),
  }),
  handler: async ({ query, services }) => {
    // Both ends have defaults; the period is refused, as every other route refuses it, when it holds no time.
    const { fromMs = 0, toMs = 0 } = parseTimeRange(query.from, query.to, services.app.clock.now(), {
      from: 'from',
      to: 'to',
    });
    return services.app.store.dashboard({
      fromMs,
      toMs,
      limit: query.limit,
      ...(query.source === undefined ? {} : { source: query.source }),
    });
  },
});
