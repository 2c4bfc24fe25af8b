import { z } from 'zod';
import { ROLES, type ApiClient, type Role } from '../api-client.js';

// The Settings page's calls to /api/users, /api/apikeys and /api/audit, made through the app's ApiClient so they
// share its CSRF token, its error wording and its sign-out on an ended session.

const userSchema = z.object({ name: z.string(), role: z.enum(ROLES), createdAt: z.string() });
export type ManagedUser = z.infer<typeof userSchema>;

const apiKeySchema = z.object({
  id: z.number(),
  user: z.string().nullable(),
  role: z.enum(ROLES).nullable(),
  label: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export type ApiKeyInfo = z.infer<typeof apiKeySchema>;

const createdKeySchema = z.object({
  apiKey: z.object({ id: z.number(), user: z.string(), role: z.enum(ROLES), label: z.string(), prefix: z.string() }),
  key: z.string(),
  notice: z.string(),
});
export type CreatedApiKey = z.infer<typeof createdKeySchema>;

const auditEntrySchema = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.string(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditLine = z.infer<typeof auditEntrySchema>;

const auditPageSchema = z.object({ entries: z.array(auditEntrySchema), nextBefore: z.number().nullable() });
export type AuditPage = z.infer<typeof auditPageSchema>;

/** User, API key and audit calls for admins. */
export class SettingsClient {
  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async listUsers(): Promise<readonly ManagedUser[]> {
    return (await this.#api.request('GET', '/api/users', z.object({ users: z.array(userSchema) }))).users;
  }

  async addUser(input: { readonly name: string; readonly role: Role; readonly password: string }): Promise<void> {
    await this.#api.request('POST', '/api/users', z.unknown(), input);
  }

  async setRole(name: string, role: Role): Promise<void> {
    await this.#api.request('POST', `/api/users/${encodeURIComponent(name)}/role`, z.unknown(), { role });
  }

  async removeUser(name: string): Promise<void> {
    await this.#api.request('DELETE', `/api/users/${encodeURIComponent(name)}`, z.unknown());
  }

  async listApiKeys(): Promise<readonly ApiKeyInfo[]> {
    return (await this.#api.request('GET', '/api/apikeys', z.object({ apiKeys: z.array(apiKeySchema) }))).apiKeys;
  }

  async createApiKey(user: string, label: string): Promise<CreatedApiKey> {
    return this.#api.request('POST', '/api/apikeys', createdKeySchema, { user, label });
  }

  async revokeApiKey(id: number): Promise<void> {
    await this.#api.request('DELETE', `/api/apikeys/${id}`, z.unknown());
  }

  async audit(limit: number, before: number | null): Promise<AuditPage> {
    const params = new URLSearchParams({ limit: String(limit) });
    if (before !== null) params.set('before', String(before));
    return this.#api.request('GET', `/api/audit?${params.toString()}`, auditPageSchema);
  }
}
