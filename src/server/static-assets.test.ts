import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerFixture, type ServerFixture } from './server-fixture.suite.js';

describe('the built web UI', () => {
  let fixture: ServerFixture;
  let outside: string;

  beforeAll(async () => {
    outside = mkdtempSync(join(tmpdir(), 'zerotrail-web-'));
    const root = join(outside, 'web');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="/assets/app-1a2b.js"></script>');
    writeFileSync(join(root, 'assets', 'app-1a2b.js'), 'console.log("ui")');
    writeFileSync(join(root, '.env'), 'SECRET=1');
    writeFileSync(join(outside, 'secret.txt'), 'outside the web root');
    fixture = await startServerFixture({ webRoot: root });
  });
  afterAll(async () => {
    await fixture.close();
    rmSync(outside, { recursive: true, force: true });
  });

  it('serves index.html for every page path, without authentication and with the security headers', async () => {
    // A page path under /assets/ is a page too, never cached as if it were a built file.
    for (const url of ['/', '/explore?q=user:alice', '/sources', '/timeline/user/alice%40example.com', '/assets/']) {
      const res = await fixture.server.inject({ method: 'GET', url });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.body).toContain('/assets/app-1a2b.js');
    }
  });

  it('serves hashed assets with a long cache and refuses anything outside the root or hidden', async () => {
    const asset = await fixture.server.inject({ method: 'GET', url: '/assets/app-1a2b.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toContain('immutable');
    for (const url of [
      '/assets/missing.js',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/.env',
      '/%00.js',
    ]) {
      const res = await fixture.server.inject({ method: 'GET', url });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 404 });
      expect(res.body).not.toContain('outside the web root');
      expect(res.body).not.toContain('SECRET');
    }
  });

  it('refuses a malformed escape before any file is looked up', async () => {
    const res = await fixture.server.inject({ method: 'GET', url: '/%E0%A4%A.js' });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('HTTP_REQUEST_INVALID');
    expect(res.body).not.toContain('%E0');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  it('keeps the JSON 404 and authentication for the API', async () => {
    const unknown = await fixture.server.inject({ method: 'GET', url: '/api/unknown' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: { code: string } }>().error.code).toBe('HTTP_NOT_FOUND');
    expect((await fixture.server.inject({ method: 'GET', url: '/api/events' })).statusCode).toBe(401);
    const api = await fixture.server.inject({ method: 'GET', url: '/api/health' });
    expect(api.headers['cache-control']).toBe('no-store');
  });
});
