import type { AuditEntry } from './audit-log.js';
import { isoSeconds } from './ids.js';

type Json = Record<string, unknown>;

/** An entry as `GET /accounts/{id}/audit_logs` renders it (spec-2024 `aaa_audit-logs`). */
export function renderAuditV1(entry: AuditEntry, accountId: string): Json {
  const { actor } = entry;
  return {
    id: entry.id,
    action: { result: entry.result, type: entry.action },
    actor: {
      id: actor.id,
      ...(actor.email === undefined ? {} : { email: actor.email }),
      ...(actor.ip === undefined ? {} : { ip: actor.ip }),
      // v1 knows users, Cloudflare staff ("admin") and "Cloudflare" for automated systems.
      type: actor.type === 'system' ? 'Cloudflare' : 'user',
    },
    interface: actor.context === 'dash' ? 'UI' : actor.context === 'api_token' ? 'API' : '',
    metadata: entry.resource.name === undefined ? {} : { name: entry.resource.name },
    // spec-2024 types both values as strings; structured values travel as JSON text.
    newValue: entry.newValue === undefined ? '' : JSON.stringify(entry.newValue),
    oldValue: entry.oldValue === undefined ? '' : JSON.stringify(entry.oldValue),
    owner: { id: accountId },
    resource: { id: entry.resource.id, type: entry.resource.type },
    when: isoSeconds(entry.timeMs),
  };
}

/** An entry as `GET /accounts/{id}/logs/audit` renders it (additions file `AuditLogV2`). */
export function renderAuditV2(entry: AuditEntry, account: { readonly id: string; readonly name: string }): Json {
  const { actor, resource } = entry;
  return {
    // v2 ids are at most 32 characters: the v1 UUID without its dashes names the same entry.
    id: entry.id.replace(/-/g, ''),
    account: { id: account.id, name: account.name },
    action: {
      description: entry.description,
      result: entry.result ? 'success' : 'failure',
      time: isoSeconds(entry.timeMs),
      // v2's action types are create, delete, view and update (its action_type filter); a login creates a session.
      type: entry.action === 'login' ? 'create' : entry.action,
    },
    actor: {
      id: actor.id,
      context: actor.context,
      ...(actor.email === undefined ? {} : { email: actor.email }),
      ...(actor.ip === undefined ? {} : { ip_address: actor.ip }),
      ...(actor.tokenId === undefined ? {} : { token_id: actor.tokenId }),
      ...(actor.tokenName === undefined ? {} : { token_name: actor.tokenName }),
      type: actor.type,
    },
    raw: {
      cf_ray_id: entry.raw.rayId,
      method: entry.raw.method,
      status_code: entry.raw.statusCode,
      uri: entry.raw.uri,
      user_agent: actor.userAgent,
    },
    resource: {
      id: resource.id,
      product: resource.product,
      ...(entry.newValue === undefined ? {} : { request: entry.newValue }),
      ...(entry.newValue === undefined ? {} : { response: { id: resource.id, ...entry.newValue } }),
      scope: resource.scope,
      type: resource.type,
    },
  };
}
