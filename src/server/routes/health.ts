import { defineRoute } from './route.js';

/** For load balancers and the UI's "is the server up" check; says nothing about the installation. */
export const HEALTH_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/health',
  summary: 'Liveness check (no authentication)',
  access: 'public',
  handler: () => Promise.resolve({ status: 'ok' }),
});
