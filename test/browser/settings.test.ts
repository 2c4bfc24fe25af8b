import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startLab, type BrowserLab, type PageWatch } from './browser-harness.js';

const ADMIN = { name: 'ada@example.com', password: 'correct-horse-battery-staple' } as const;
const ANALYST = 'alan@example.com';
const ANALYST_PASSWORD = 'analyst-battery-staple-horse';
const KEY_LABEL = 'SIEM pull';

function keyRow(page: Page): Locator {
  return page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: KEY_LABEL });
}

/**
 * An admin's Settings in Debian's chromium against a real `zerotrail serve`: add an analyst, give them an API
 * key that works as Bearer, check the analyst cannot reach Settings, revoke the key, read the audit trail.
 */
describe('Settings: users, API keys and the audit trail', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let page: Page;
  let watch: PageWatch;
  let key = '';

  beforeAll(async () => {
    lab = await startLab({ name: 'browser-settings', users: [{ ...ADMIN, role: 'admin' }] });
    const admin = await lab.openPage();
    await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: lab.serve.url });
    ({ page, watch } = admin);
  }, 180_000);

  afterAll(() => lab?.close());

  it('adds an analyst with a password field, and refuses to demote the last admin in plain words', async () => {
    await page.goto(`${lab.serve.url}/explore`);
    await signIn(page, ADMIN);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Users and roles' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/settings');

    const form = page.getByRole('form', { name: 'Add user' });
    await form.getByLabel('User name').fill(ANALYST);
    await form.getByLabel('Role').selectOption('analyst');
    const password = form.getByLabel('Initial password');
    expect(await password.getAttribute('type')).toBe('password');
    await password.fill(ANALYST_PASSWORD);
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.getByText(`User "${ANALYST}" added as analyst.`).waitFor();
    expect(await page.getByLabel(`Role of ${ANALYST}`).inputValue()).toBe('analyst');

    await page.getByLabel(`Role of ${ADMIN.name}`).selectOption('viewer');
    await page.getByText(/is the last admin; zerotrail needs at least one/).waitFor();
    expect(await page.getByLabel(`Role of ${ADMIN.name}`).inputValue()).toBe('admin');
  });

  it('creates an API key for the analyst, shows it once with a copy button, and lists it without the secret', async () => {
    const form = page.getByRole('form', { name: 'Create API key' });
    await form.getByLabel('For user').selectOption(ANALYST);
    await form.getByLabel('Label').fill(KEY_LABEL);
    await form.getByRole('button', { name: 'Create API key' }).click();

    const shown = page.getByRole('textbox', { name: 'New API key' });
    await shown.waitFor();
    key = await shown.inputValue();
    expect(key).toMatch(/^ztk_[A-Za-z0-9_-]{43}$/);
    await page.getByText('Copy this key now: it will not be shown again.').waitFor();
    // The clipboard answers only the focused page; other browser tests may run beside this one.
    await page.bringToFront();
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    // A string, not a function: the test code is typed for Node, the expression runs in the page.
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(key);

    const row = keyRow(page);
    await row.waitFor();
    expect(await row.textContent()).toContain(ANALYST);
    expect(await row.textContent()).toContain('never');

    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.reload();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await keyRow(page).waitFor();
    expect(await page.content()).not.toContain(key);
  });

  it('the key works as Bearer against /api/events with the analyst role, and not for admin routes', async () => {
    const events = await fetch(`${lab.serve.url}/api/events?q=&limit=5`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(events.status).toBe(200);
    expect(await events.json()).toMatchObject({ events: [] });
    const users = await fetch(`${lab.serve.url}/api/users`, { headers: { authorization: `Bearer ${key}` } });
    expect(users.status).toBe(403);

    await page.reload();
    const row = keyRow(page);
    await row.waitFor();
    await expect.poll(async () => row.textContent()).not.toContain('never');
  });

  it('the analyst signs in, sees no Settings link, and is told Settings is for admins', async () => {
    const analyst = await lab.openSignedInPage({ name: ANALYST, password: ANALYST_PASSWORD }, '/explore');
    try {
      const { page: analystPage, watch: analystWatch } = analyst;
      expect(await analystPage.locator('.who').textContent()).toContain('analyst');
      const nav = analystPage.getByRole('navigation', { name: 'Pages' });
      await nav.getByRole('link', { name: 'Explore' }).waitFor();
      expect(await nav.getByRole('link', { name: 'Settings' }).count()).toBe(0);

      await analystPage.goto(`${lab.serve.url}/settings`);
      await analystPage.getByText('Only an admin can see Settings.', { exact: false }).waitFor();
      expect(await analystPage.getByRole('heading', { name: 'Users and roles' }).count()).toBe(0);
      expect(analystWatch.pageErrors).toEqual([]);
    } finally {
      await analyst.close();
    }
  });

  it('revokes the key, which stops working at once', async () => {
    await page
      .getByRole('row')
      .filter({ hasText: KEY_LABEL })
      .getByRole('button', { name: /^Revoke/ })
      .click();
    // Like deleting a user, revoking asks first.
    const confirm = page.getByRole('alertdialog', { name: /^Revoke ztk_/ });
    expect(await confirm.textContent()).toContain('refused from now on');
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText(/revoked; it no longer works\./).waitFor();
    await page.getByText('No API keys yet.').waitFor();
    const refused = await fetch(`${lab.serve.url}/api/events?q=&limit=5`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(refused.status).toBe(401);
  });

  it('shows these actions in the audit trail, newest first', async () => {
    const trail = page.getByRole('table', { name: 'Audit trail' });
    await expect.poll(async () => trail.getByRole('row').nth(1).textContent()).toContain('apikey_revoked');
    const rows = await trail.getByRole('row').allTextContents();
    const actions = rows.slice(1).map((text) => {
      const action = /(apikey_revoked|apikey_created|user_added|user_role_changed|login)/.exec(text)?.[1];
      return `${action ?? '?'}${text.includes(ANALYST) ? ` ${ANALYST}` : ''}`;
    });
    expect(actions.slice(0, 5)).toEqual([
      `apikey_revoked ${ANALYST}`,
      `login ${ANALYST}`,
      `apikey_created ${ANALYST}`,
      'user_role_changed',
      `user_added ${ANALYST}`,
    ]);
    expect(rows.join('\n')).not.toContain(key);
  });

  it('deletes a user only after a confirmation that says what happens', async () => {
    await page.getByRole('button', { name: `Delete ${ANALYST}` }).click();
    const confirm = page.getByRole('alertdialog', { name: `Delete ${ANALYST}?` });
    expect(await confirm.textContent()).toContain('their API keys stop working');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect(await page.getByLabel(`Role of ${ANALYST}`).count()).toBe(1);

    await page.getByRole('button', { name: `Delete ${ANALYST}` }).click();
    await confirm.getByRole('button', { name: 'Delete user' }).click();
    await page.getByText(`User "${ANALYST}" deleted.`).waitFor();
    await expect.poll(async () => page.getByLabel(`Role of ${ANALYST}`).count()).toBe(0);
    const trail = page.getByRole('table', { name: 'Audit trail' });
    await expect.poll(async () => trail.getByRole('row').nth(1).textContent()).toContain('user_removed');
  });

  it('pages the audit trail back and forth, 25 entries at a time', async () => {
    // Thirty more audited actions, made through the API with this page's own session and CSRF token.
    const created = await page.evaluate<number>(`(async () => {
      const me = await (await fetch('/api/me')).json();
      let ok = 0;
      for (let i = 0; i < 30; i++) {
        const res = await fetch('/api/apikeys', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
          body: JSON.stringify({ label: 'batch ' + i }),
        });
        if (res.status === 201) ok++;
      }
      return ok;
    })()`);
    expect(created).toBe(30);
    await page.reload();
    const trail = page.getByRole('table', { name: 'Audit trail' });
    await trail.waitFor();
    const older = page.getByRole('button', { name: 'Older' });
    const newer = page.getByRole('button', { name: 'Newer' });
    expect(await newer.isDisabled()).toBe(true);
    expect(await trail.getByRole('row').count()).toBe(26);
    expect(await trail.getByRole('row').nth(1).textContent()).toContain('"label":"batch 29"');

    await older.click();
    await expect.poll(async () => trail.getByRole('row').nth(1).textContent()).toContain('"label":"batch 4"');
    expect(await trail.textContent()).toContain('user_removed');
    expect(await trail.textContent()).not.toContain('"label":"batch 5"');
    expect(await newer.isDisabled()).toBe(false);

    await newer.click();
    await expect.poll(async () => trail.getByRole('row').nth(1).textContent()).toContain('"label":"batch 29"');
  });

  it('sets the retention in days within its range, says where it comes from, and records it in the audit trail', async () => {
    const section = page.getByRole('region', { name: 'Retention' });
    await section.getByText('from the config file (retention.max_age_days)', { exact: false }).waitFor();
    const days = section.getByLabel('Keep events for (days)');
    expect(await days.inputValue()).toBe('365');

    await days.fill('0');
    await section.getByRole('button', { name: 'Save retention' }).click();
    await section.getByRole('alert').filter({ hasText: 'Enter a whole number of days from 1 to 36,500.' }).waitFor();

    await days.fill('90');
    await section.getByRole('button', { name: 'Save retention' }).click();
    await section.getByText('Events are now kept 90 days.', { exact: false }).waitFor();
    const trail = page.getByRole('table', { name: 'Audit trail' });
    await expect.poll(async () => trail.getByRole('row').nth(1).textContent()).toContain('retention_changed');
    expect(await trail.getByRole('row').nth(1).textContent()).toContain('"toDays":90');

    await page.reload();
    await page
      .getByRole('region', { name: 'Retention' })
      .getByText('Events are kept 90 days, as set here (the config file says 365).')
      .waitFor();
    expect(
      await page.getByRole('region', { name: 'Retention' }).getByLabel('Keep events for (days)').inputValue(),
    ).toBe('90');
    expect(watch.dialogs).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });

  it('asks before revoking a key, and no longer offers a just-created key for copying once it is revoked', async () => {
    const form = page.getByRole('form', { name: 'Create API key' });
    await form.getByLabel('Label').fill('to be revoked');
    await form.getByRole('button', { name: 'Create API key' }).click();
    const shown = page.getByRole('textbox', { name: 'New API key' });
    await shown.waitFor();
    const row = page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: 'to be revoked' });
    await row.waitFor();

    await row.getByRole('button', { name: /^Revoke/ }).click();
    const confirm = page.getByRole('alertdialog', { name: /^Revoke ztk_/ });
    expect(await confirm.textContent()).toContain('Revoke the API key');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    // Cancelled: the key is still listed, still works, and still shown for copying.
    expect(await row.count()).toBe(1);
    expect(await shown.count()).toBe(1);
    const key = await shown.inputValue();
    const works = await fetch(`${lab.serve.url}/api/events?q=&limit=1`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(works.status).toBe(200);

    await row.getByRole('button', { name: /^Revoke/ }).click();
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText(/revoked; it no longer works\./).waitFor();
    await row.waitFor({ state: 'detached' });
    // The box offered the key "now or never"; a revoked key is not worth copying.
    expect(await shown.count()).toBe(0);
    expect(await page.getByText('Copy this key now').count()).toBe(0);
    expect(await page.content()).not.toContain(key);
  });

  it('names what is wrong with a new user beside the form, in plain words, every problem at once', async () => {
    const form = page.getByRole('form', { name: 'Add user' });
    const name = form.getByLabel('User name');
    const password = form.getByLabel('Initial password');
    await name.fill('bad name!');
    await password.fill('short');
    await form.getByRole('button', { name: 'Add user' }).click();
    await form.getByText('The user name may hold only letters, digits and . _ @ + -').waitFor();
    await form.getByText('The initial password needs at least 12 characters.').waitFor();
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    // Nothing in the API's own wording, and nothing at the top of the card.
    expect(await page.getByText('The request is invalid').count()).toBe(0);
    expect(await page.getByText('body.name').count()).toBe(0);

    await name.fill('good.name@example.com');
    await form.getByRole('button', { name: 'Add user' }).click();
    await form.getByText('The initial password needs at least 12 characters.').waitFor();
    expect(await form.getByText('The user name may hold only').count()).toBe(0);
    expect(await name.getAttribute('aria-invalid')).toBe('false');

    // What only the server can know is said beside the form too.
    await name.fill(ADMIN.name);
    await password.fill('a-long-enough-passphrase');
    await form.getByRole('button', { name: 'Add user' }).click();
    await form.getByRole('alert').filter({ hasText: ADMIN.name }).waitFor();

    await name.fill('good.name@example.com');
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.getByText('User "good.name@example.com" added as analyst.').waitFor();
    expect(await form.getByRole('alert').count()).toBe(0);
    expect(watch.pageErrors).toEqual([]);
  });
});
