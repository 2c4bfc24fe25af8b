import { z } from 'zod';
import { ApiError, ROLES, type Role } from '../api-client.js';

// The Settings page's calls to /api/users, /api/apikeys and /api/audit. They sit beside the page rather than in
// ApiClient so the page stays self-contained; the CSRF token comes from /api/me, which hands the same
// session's token to any page that asks.

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

const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** User, API key and audit calls for admins; `onSignedOut` hears when the session has ended. */
export class SettingsClient {
  readonly #onSignedOut: (notice: string) => void;
  #csrfToken: string | null = null;

  constructor(onSignedOut: (notice: string) => void) {
    this.#onSignedOut = onSignedOut;
  }

  async listUsers(): Promise<readonly ManagedUser[]> {
    return (await this.#send('GET', '/api/users', z.object({ users: z.array(userSchema) }))).users;
  }

  async addUser(input: { readonly name: string; readonly role: Role; readonly password: string }): Promise<void> {
    await this.#send('POST', '/api/users', z.unknown(), input);
  }

  async setRole(name: string, role: Role): Promise<void> {
    await this.#send('POST', `/api/users/${encodeURIComponent(name)}/role`, z.unknown(), { role });
  }

  async removeUser(name: string): Promise<void> {
    await this.#send('DELETE', `/api/users/${encodeURIComponent(name)}`, z.unknown());
  }

  async listApiKeys(): Promise<readonly ApiKeyInfo[]> {
    return (await this.#send('GET', '/api/apikeys', z.object({ apiKeys: z.array(apiKeySchema) }))).apiKeys;
  }

  async createApiKey(user: string, label: string): Promise<CreatedApiKey> {
    return this.#send('POST', '/api/apikeys', createdKeySchema, { user, label });
  }

  async revokeApiKey(id: number): Promise<void> {
    await this.#send('DELETE', `/api/apikeys/${id}`, z.unknown());
  }

  async audit(limit: number, before: number | null): Promise<AuditPage> {
    const params = new URLSearchParams({ limit: String(limit) });
    if (before !== null) params.set('before', String(before));
    return this.#send('GET', `/api/audit?${params.toString()}`, auditPageSchema);
  }

  async #csrf(): Promise<string | null> {
    if (this.#csrfToken === null) {
      const me = await this.#send('GET', '/api/me', z.object({ csrfToken: z.string().nullable() }));
      this.#csrfToken = me.csrfToken;
    }
    return this.#csrfToken;
  }

  async #send<T>(method: 'GET' | 'POST' | 'DELETE', path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET') {
      const token = await this.#csrf();
      if (token !== null) headers['x-csrf-token'] = token;
    }
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(
        0,
        'NETWORK',
        'zerotrail cannot be reached. Check that the server is running, then try again.',
        {
          details: { cause: String(error) },
        },
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      // A body that is not JSON is treated like an empty one: the status decides what the page says.
      json = undefined;
    }
    if (!response.ok) {
      const parsed = errorBodySchema.safeParse(json);
      const error = parsed.success
        ? new ApiError(response.status, parsed.data.error.code, parsed.data.error.message)
        : new ApiError(response.status, 'HTTP_ERROR', `The server answered with status ${response.status}.`);
      if (error.status === 401 && error.code === 'AUTH_REQUIRED') {
        this.#csrfToken = null;
        this.#onSignedOut('Your session has ended. Sign in again to continue.');
      }
      throw error;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ApiError(
        response.status,
        'UI_RESPONSE_UNEXPECTED',
        'The server sent an answer this page does not understand; reload the page.',
      );
    }
    return parsed.data;
  }
}
