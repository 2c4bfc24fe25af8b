import { success } from '../envelope.js';
import type { SimulatorData } from './route.js';
import {
  accessUserRoute,
  appOf,
  type AccessUserSubject,
  type UserLogEvent,
  userLogEvents,
} from './access-user-route.js';

type Json = Record<string, unknown>;

// Cloudflare does not document how long a failed login stays on this endpoint; a day keeps the list to what an
// analyst looks at when a user reports being locked out.
const FAILED_LOGIN_TTL_SECS = 86_400;
// A risky simulated user fails a few dozen times a day; the cap only bounds a pathological burst.
const MAX_FAILED_LOGINS = 1000;

function failedLogin(data: SimulatorData, subject: AccessUserSubject, event: UserLogEvent): Json {
  const app = appOf(data, event.record);
  return {
    expiration: Math.floor(event.timeMs / 1000) + FAILED_LOGIN_TTL_SECS,
    // The keys of spec-2024's metadata example, in its order.
    metadata: {
      app_name: typeof app?.['name'] === 'string' ? app['name'] : String(event.record['app_domain']),
      aud: typeof app?.['aud'] === 'string' ? app['aud'] : '',
      datetime: event.record['created_at'],
      ray_id: event.record['ray_id'],
      user_email: event.record['user_email'],
      user_uuid: subject.id,
    },
  };
}

/**
 * GET /accounts/{account_id}/access/users/{user_id}/failed_logins: the user's denied Access events of the last
 * day, newest first, taken from the same simulated log the access_requests endpoint serves.
 */
export const accessUserFailedLogins = accessUserRoute({
  name: 'access-user-failed-logins',
  suffix: 'failed_logins',
  answer: (subject, { data }) => {
    const events = userLogEvents(data, subject.email, {
      sinceMs: data.nowMs - FAILED_LOGIN_TTL_SECS * 1000,
      untilMs: data.nowMs,
      direction: 'desc',
      size: Number.MAX_SAFE_INTEGER,
    });
    const denied = events.filter((event) => event.record['allowed'] === false).slice(0, MAX_FAILED_LOGINS);
    return success(JSON.stringify(denied.map((event) => failedLogin(data, subject, event))));
  },
});
