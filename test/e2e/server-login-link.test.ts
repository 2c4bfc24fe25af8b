import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueLoginLink, LOGIN_LINK_TTL_MS } from '../../src/server/auth/login-links.js';
import { startServerFixture, type ServerFixture } from '../../src/server/server-fixture.suite.js';
import { sha256 } from '../../src/server/auth/tokens.js';

describe('one-time login links', () => {
  let fixture: ServerFixture;

  beforeAll(async () => {
    fixture = await startServerFixture();
  });
  afterAll(async () => fixture.close());

  const open = (token: string) => fixture.server.inject({ method: 'GET', url: `/api/login/link?token=${token}` });

  const adminLink = async (): Promise<string> => {
    const admin = await fixture.auth.userByName('admin');
    if (admin === undefined) throw new Error('the fixture has no admin');
    return (await issueLoginLink(fixture.auth, admin, fixture.clock.now())).token;
  };

  it('signs the user in once with a session cookie and redirects to the UI; the second use is refused', async () => {
    const token = await adminLink();
    const first = await open(token);
    expect(first.statusCode).toBe(303);
    expect(first.headers['location']).toBe('/');
    const cookie = first.cookies.find((item) => item.name === 'zt_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const me = await fixture.server.inject({
      method: 'GET',
      url: '/api/me',
      headers: { cookie: `zt_session=${cookie?.value ?? ''}` },
    });
    expect(me.json()).toMatchObject({ user: { name: 'admin', role: 'admin' }, via: 'session' });

    const second = await open(token);
    expect(second.statusCode).toBe(401);
    expect(second.json<{ error: { code: string } }>().error.code).toBe('AUTH_LOGIN_LINK_INVALID');
    expect(second.cookies).toEqual([]);

    const audit = await fixture.auth.listAudit({ limit: 2 });
    expect(audit.map((entry) => [entry.action, entry.outcome, entry.details])).toEqual([
      ['login_failed', 'failure', { reason: 'login_link_invalid' }],
      ['login', 'success', { via: 'login_link' }],
    ]);
    // Only the hash is stored, and never the token itself in the audit trail or the log.
    expect(JSON.stringify(audit)).not.toContain(token);
    expect(fixture.logs()).not.toContain(token);
    expect(await fixture.auth.redeemLoginLink(token, fixture.clock.now())).toBeUndefined();
    expect(await fixture.auth.redeemLoginLink(sha256(token), fixture.clock.now())).toBeUndefined();
    // Opened again in a browser, the link says so in a page, not in raw JSON.
    const again = await fixture.server.inject({
      method: 'GET',
      url: `/api/login/link?token=${token}`,
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(again.statusCode).toBe(401);
    expect(again.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(again.headers['content-security-policy']).toBeDefined();
    expect(again.body).toContain('<h1>This login link was already used or has expired.</h1>');
    expect(again.body).toContain('<a href="/">Open zerotrail</a>');
  });

  it('refuses a link after its 15 minutes, and a malformed token at validation', async () => {
    const token = await adminLink();
    fixture.clock.advance(LOGIN_LINK_TTL_MS);
    const expired = await open(token);
    expect(expired.statusCode).toBe(401);
    expect(expired.json<{ error: { code: string } }>().error.code).toBe('AUTH_LOGIN_LINK_INVALID');

    expect((await open('short')).statusCode).toBe(400);
    expect((await fixture.server.inject({ method: 'GET', url: '/api/login/link' })).statusCode).toBe(400);
  });

  it('gives two requests racing with the same link one session between them', async () => {
    const token = await adminLink();
    const answers = await Promise.all([open(token), open(token), open(token)]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([303, 401, 401]);
  });
});
