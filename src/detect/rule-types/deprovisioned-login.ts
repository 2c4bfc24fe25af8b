import { z } from 'zod';
import type { NormalizedEvent } from '../../core/event.js';
import { compileMatch } from '../match.js';
import { registerRuleType, type RawFiring } from '../rule.js';
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

// Events of a user read back after a deprovision at most, and logins found at most: the logins of a user whose
// access was taken away are few, and a reprovision ends the reading.
const MAX_RECALL_SCANNED = 5_000;
const MAX_RECALLED_LOGINS = 200;

/**
 * A login by a user after an event took the user's access away and before one gave it back, or after an
 * inventory snapshot that shows the user inactive. Keyed by the user's lowercase e-mail. The deprovision may be
 * evaluated after the logins that followed it (SCIM logs collected late, or a backfill of them): it then reads
 * back the user's stored logins up to the next reprovision or deprovision and fires on them, so the result does
 * not depend on the order events arrive in.
 */
export const deprovisionedLoginRule = registerRuleType({
  params: paramsSchema,
  variables: ['how'],
  create(params) {
    const isDeprovision = compileMatch(params.deprovision, 'params.deprovision');
    const isReprovision = compileMatch(params.reprovision, 'params.reprovision');
    const isLogin = compileMatch(params.login, 'params.login');
    const keyOf = (user: string | null): string | null => (user === null || user === '' ? null : user.toLowerCase());
    const firing = (key: string, login: NormalizedEvent, byEvent: DeprovisionState | null, how: string): RawFiring => ({
      entityKey: key,
      entity: entityOf(login),
      evidence: [
        ...(byEvent === null ? [] : [{ eventId: byEvent.id, eventTime: byEvent.at }]),
        { eventId: login.id, eventTime: login.time },
      ],
      vars: { ...eventVars(login), how },
      details: { deprovisioned_by: byEvent === null ? 'inventory' : 'event', how },
    });
    const howOf = (deprovision: DeprovisionState): string =>
      `${deprovision.how} at ${new Date(deprovision.at).toISOString()}`;
    return {
      stateKeys: (event) => {
        const key = keyOf(event.user);
        return key === null ? [] : [key];
      },
      recall(event, stored) {
        if (!isDeprovision(event)) return null;
        const key = keyOf(event.user);
        if (key === null) return null;
        return (async () => {
          const logins: NormalizedEvent[] = [];
          let scanned = 0;
          for await (const later of stored.ofUser(key, event.time)) {
            scanned += 1;
            if (scanned > MAX_RECALL_SCANNED || logins.length >= MAX_RECALLED_LOGINS) break;
            // A login in the same millisecond is not judged after it, as when the deprovision comes first.
            if (later.time <= event.time || later.id === event.id) continue;
            // Logins after a later deprovision are that one's to judge; after a reprovision, nobody's.
            if (isReprovision(later) || isDeprovision(later)) break;
            if (isLogin(later)) logins.push(later);
          }
          return logins;
        })();
      },
      evaluate(event, store, context) {
        const key = keyOf(event.user);
        if (key === null) return [];
        const state = store.get(key) as DeprovisionState | undefined;
        if (isDeprovision(event)) {
          const deprovision = { at: event.time, id: event.id, how: `${event.dataset} ${event.activity}` };
          if (state === undefined || state.at < event.time) store.set(key, deprovision);
          // Logins stored and evaluated before this deprovision was: the same findings as had it come first.
          return (context.recalled ?? []).map((login) => firing(key, login, deprovision, howOf(deprovision)));
        }
        if (isReprovision(event)) {
          if (state !== undefined && state.at <= event.time) store.set(key, undefined);
          return [];
        }
        if (!isLogin(event)) return [];
        const byEvent = state !== undefined && state.at < event.time ? state : null;
        const byInventory = byEvent === null ? context.inventory.inactiveUser(event.sourceName, key, event.time) : null;
        if (byEvent === null && byInventory === null) return [];
        return [firing(key, event, byEvent, byEvent !== null ? howOf(byEvent) : (byInventory ?? ''))];
      },
    };
  },
});
