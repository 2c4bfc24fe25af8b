import { z } from 'zod';
import { compileMatch } from '../match.js';
import { registerRuleType } from '../rule.js';
import { entityOf, eventVars } from './common.js';

const paramsSchema = z
  .object({
    /** Events that take a user's access away (a SCIM disable or delete). */
    deprovision: z.record(z.string(), z.unknown()),
    /** Events that give it back. */
    reprovision: z.record(z.string(), z.unknown()),
    /** The logins to judge. */
    login: z.record(z.string(), z.unknown()),
  })
  .strict();

interface DeprovisionState {
  readonly at: number;
  readonly id: string;
  readonly how: string;
}

/**
 * A login by a user after an event took the user's access away and before one gave it back, or after an
 * inventory snapshot that shows the user inactive. Keyed by the user's lowercase e-mail.
 */
export const deprovisionedLoginRule = registerRuleType({
  params: paramsSchema,
  variables: ['how'],
  create(params) {
    const isDeprovision = compileMatch(params.deprovision, 'params.deprovision');
    const isReprovision = compileMatch(params.reprovision, 'params.reprovision');
    const isLogin = compileMatch(params.login, 'params.login');
    const keyOf = (user: string | null): string | null => (user === null || user === '' ? null : user.toLowerCase());
    return {
      stateKeys: (event) => {
        const key = keyOf(event.user);
        return key === null ? [] : [key];
      },
      evaluate(event, store, context) {
        const key = keyOf(event.user);
        if (key === null) return [];
        const state = store.get(key) as DeprovisionState | undefined;
        if (isDeprovision(event)) {
          if (state === undefined || state.at < event.time) {
            store.set(key, { at: event.time, id: event.id, how: `${event.dataset} ${event.activity}` });
          }
          return [];
        }
        if (isReprovision(event)) {
          if (state !== undefined && state.at <= event.time) store.set(key, undefined);
          return [];
        }
        if (!isLogin(event)) return [];
        const byEvent = state !== undefined && state.at < event.time ? state : null;
        const byInventory = byEvent === null ? context.inventory.inactiveUser(event.sourceName, key, event.time) : null;
        if (byEvent === null && byInventory === null) return [];
        const how = byEvent !== null ? `${byEvent.how} at ${new Date(byEvent.at).toISOString()}` : (byInventory ?? '');
        return [
          {
            entityKey: key,
            entity: entityOf(event),
            evidence: [
              ...(byEvent === null ? [] : [{ eventId: byEvent.id, eventTime: byEvent.at }]),
              { eventId: event.id, eventTime: event.time },
            ],
            vars: { ...eventVars(event), how },
            details: { deprovisioned_by: byEvent === null ? 'inventory' : 'event', how },
          },
        ];
      },
    };
  },
});
