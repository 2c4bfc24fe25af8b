// Test support shared by the server tests; the .suite.ts suffix keeps it out of the build like contract.suite.ts.
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { openApp, DATABASE_FILE, type App } from '../app.js';
import { loadConfig } from '../config/load.js';
import { ManualClock } from '../core/clock.js';
import { createLogger } from '../core/logger.js';
import type { Role } from '../store/auth-store.js';
import { SqliteAuthStore } from '../store/sqlite/auth-store.js';
import { addUser } from './auth/accounts.js';
import type { LoginLimits } from './auth/login-limiter.js';
import { buildServer } from './app.js';

export const PASSWORDS: Readonly<Record<Role, string>> = {
  admin: 'admin-correct-horse-battery',
  analyst: 'analyst-correct-horse-battery',
  viewer: 'viewer-correct-horse-battery',
};

/** A real installation in a temporary directory, with one user per role, and the built (not listening) server. */
export interface ServerFixture {
  readonly app: App;
  readonly auth: SqliteAuthStore;
  readonly server: FastifyInstance;
  readonly clock: ManualClock;
  readonly dataDir: string;
  /** Every log line the installation and the server wrote, at debug level. */
  logs(): string;
  close(): Promise<void>;
}

export async function startServerFixture(
  options: {
    readonly env?: Record<string, string>;
    readonly loginLimits?: LoginLimits;
    readonly tls?: { readonly cert: string; readonly key: string };
    readonly webRoot?: string;
    /** Where the clock starts; tests that collect from the simulator start it at the wall clock, as its events are. */
    readonly startMs?: number;
  } = {},
): Promise<ServerFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'zerotrail-server-'));
  const captured: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => captured.push(chunk));
  const clock = new ManualClock(options.startMs ?? Date.UTC(2026, 10, 25, 12));
  const config = loadConfig({ env: options.env ?? {}, dataDir });
  const app = await openApp(config, { logger: createLogger({ level: 'debug', destination: sink }), clock });
  const auth = await SqliteAuthStore.open({ path: join(dataDir, DATABASE_FILE) });
  for (const role of ['admin', 'analyst', 'viewer'] as const) {
    await addUser(auth, { name: role, role, password: PASSWORDS[role] }, clock.now());
  }
  const server = await buildServer({
    app,
    auth,
    ...(options.loginLimits === undefined ? {} : { loginLimits: options.loginLimits }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.webRoot === undefined ? {} : { webRoot: options.webRoot }),
  });
  return {
    app,
    auth,
    server,
    clock,
    dataDir,
    logs: () => Buffer.concat(captured).toString('utf8'),
    close: async () => {
      await server.close();
      await auth.close();
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Session {
  readonly cookie: string;
  readonly csrfToken: string;
}

export async function login(server: FastifyInstance, role: Role): Promise<Session> {
  const res = await server.inject({
    method: 'POST',
    url: '/api/login',
    payload: { name: role, password: PASSWORDS[role] },
  });
  if (res.statusCode !== 200) throw new Error(`login as ${role} failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((entry) => entry.name === 'zt_session');
  if (cookie === undefined) throw new Error('no session cookie');
  return { cookie: `zt_session=${cookie.value}`, csrfToken: res.json<{ csrfToken: string }>().csrfToken };
}
