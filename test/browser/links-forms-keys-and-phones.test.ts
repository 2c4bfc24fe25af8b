import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deniedWithRay } from '../helpers/events.js';
import { startLab, type BrowserLab, type LabUser, type OpenedPage } from './browser-harness.js';

const ADMIN: LabUser = { name: 'ada@example.com', password: 'correct-horse-battery-staple', role: 'admin' };
// A second account, for the Delete confirmation.
const OLGA: LabUser = { name: 'olga@example.com', password: 'olga-staple-horse-battery', role: 'viewer' };
const HOUR = 3_600_000;
const ALICE = 'alice@example.com';
// A user name as long as a hostile identity provider may send: 2,000 characters.
const LONG_USER = `${'l'.repeat(1_988)}@example.com`;
const PHONE = { width: 375, height: 740 } as const;

// The parts of page elements the tests read; the test files are compiled without the DOM library.
interface Box {
  readonly scrollWidth: number;
  readonly clientWidth: number;
}
interface Tagged {
  readonly tagName: string;
}

/**
 * Everyday use of the web UI against a real `zerotrail serve`: the link a notification carries opens its alert,
 * a failed alert action keeps what was typed, Back restores the dashboard's custom range with its fields, long
 * values do not stretch the Alerts list, a phone-sized window keeps the top bar and the event panel usable, and
 * the keyboard can answer a confirmation and close the event panel.
 */
describe('links, forms, keys and phones', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let alertId = '';

  beforeAll(async () => {
    const start = Date.now() - 2 * HOUR;
    lab = await startLab({
      name: 'browser-links-keys',
      users: [ADMIN, OLGA],
      seed: async (app) => {
        await app.store.append(
          [
            ...Array.from({ length: 12 }, (_, n) => deniedWithRay(n, start + n * 20_000, ALICE, 'Wiki')),
            ...Array.from({ length: 12 }, (_, n) => deniedWithRay(100 + n, start + n * 20_000, LONG_USER, 'Wiki')),
          ],
          { id: 'cf/access_requests', value: {} },
        );
        expect((await app.detector.catchUp()).created).toBeGreaterThanOrEqual(2);
      },
    });
    const { page } = await lab.openSignedInPage(ADMIN, '/alerts');
    const link = alertRow(page, `${ALICE} was denied`).getByRole('link').first();
    alertId = new URL((await link.getAttribute('href')) ?? '', lab.serve.url).searchParams.get('alert') ?? '';
    expect(alertId).toMatch(/^al_/);
  }, 180_000);

  afterAll(() => lab?.close());

  function alertRow(page: Page, text: string): Locator {
    return page.getByRole('table', { name: 'Alerts' }).getByRole('row').filter({ hasText: text });
  }

  async function focusedTag(page: Page): Promise<string> {
    return page.locator(':focus').evaluate((element: Tagged) => element.tagName);
  }

  it('opens the alert a notification links to at /alerts/<id>, signed in or after signing in', async () => {
    // The server answers the path with the UI, as it does every page path.
    const answer = await fetch(`${lab.serve.url}/alerts/${alertId}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/html');

    const signedOut = await lab.openPage();
    await signedOut.page.goto(`${lab.serve.url}/alerts/${alertId}`);
    await signedOut.page.getByLabel('User name').fill(ADMIN.name);
    await signedOut.page.getByLabel('Password').fill(ADMIN.password);
    await signedOut.page.getByRole('button', { name: 'Sign in' }).click();
    await signedOut.page.getByRole('heading', { name: 'Brute force against a user' }).waitFor();
    expect(await signedOut.page.getByLabel('Summary').textContent()).toContain(`${ALICE} was denied`);

    // Signed in already, in the same browser.
    const again = await signedOut.context.newPage();
    await again.goto(`${lab.serve.url}/alerts/${alertId}`);
    await again.getByRole('heading', { name: 'Brute force against a user' }).waitFor();
    expect(new URL(again.url()).pathname).toBe('/alerts');
    expect(new URL(again.url()).searchParams.get('alert')).toBe(alertId);
  });

  it('keeps a typed comment, closing note and assignee when the action fails, and clears them once it succeeds', async () => {
    const { page, context } = await lab.openSignedInPage(ADMIN, `/alerts?alert=${alertId}`, {
      ready: (signed) => signed.getByRole('heading', { name: 'Brute force against a user' }),
    });
    const assign = page.getByRole('form', { name: 'Assign alert' });
    await assign.getByLabel('Assignee').fill('nobody-here@example.com');
    await assign.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByRole('alert').waitFor();
    expect(await assign.getByLabel('Assignee').inputValue()).toBe('nobody-here@example.com');

    // The server cannot be reached while these are sent.
    await context.setOffline(true);
    const commenting = page.getByRole('form', { name: 'Comment on alert' });
    await commenting.getByLabel('Comment').fill('Called the user; it was them.');
    await commenting.getByRole('button', { name: 'Add comment' }).click();
    await page.getByRole('alert').filter({ hasText: 'cannot be reached' }).waitFor();
    expect(await commenting.getByLabel('Comment').inputValue()).toBe('Called the user; it was them.');
    const close = page.getByRole('form', { name: 'Close alert' });
    await close.getByLabel('Closing note').fill('Confirmed with the owner.');
    await close.getByRole('button', { name: 'Close alert' }).click();
    await page.getByRole('alert').filter({ hasText: 'cannot be reached' }).waitFor();
    expect(await close.getByLabel('Closing note').inputValue()).toBe('Confirmed with the owner.');
    expect(await page.getByLabel('Alert status').textContent()).toBe('open');

    await context.setOffline(false);
    await commenting.getByRole('button', { name: 'Add comment' }).click();
    await page.getByText('Comment added.').waitFor();
    expect(await commenting.getByLabel('Comment').inputValue()).toBe('');
    await page.getByRole('form', { name: 'Close alert' }).getByRole('button', { name: 'Close alert' }).click();
    await page.getByText('Alert closed.').waitFor();
    await page.getByRole('button', { name: 'Reopen' }).click();
    await page.getByText('Alert reopened.').waitFor();
    expect(await page.getByRole('form', { name: 'Close alert' }).getByLabel('Closing note').inputValue()).toBe('');
  });

  it('shows the From and To of a custom range again when Back returns to it on the dashboard', async () => {
    const { page } = await lab.openSignedInPage(ADMIN, '/dashboard');
    const start = new Date(Date.now() - 3 * HOUR).toISOString().slice(0, 16);
    await page.getByLabel('Time range').selectOption({ label: 'Custom range…' });
    await page.getByLabel('From (UTC)').fill(start);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL((url) => url.searchParams.get('from') === `${start}:00Z`);
    await page.getByLabel('Time range').selectOption({ label: 'Last 24 hours' });
    await page.getByLabel('From (UTC)').waitFor({ state: 'detached' });

    await page.goBack();
    await page.waitForURL((url) => url.searchParams.get('from') === `${start}:00Z`);
    await page.getByLabel('From (UTC)').waitFor();
    expect(await page.getByLabel('From (UTC)').inputValue()).toBe(start);
    await page.getByLabel('To (UTC)').waitFor();
  });

  it('shortens a 2,000-character user name in the Alerts list, keeping the whole of it in reach', async () => {
    const { page } = await lab.openSignedInPage(ADMIN, '/alerts', { viewport: { width: 1280, height: 800 } });
    const row = alertRow(page, 'l'.repeat(40));
    await row.waitFor();
    const height = (await row.boundingBox())?.height ?? 0;
    expect(height).toBeLessThan(120);
    expect(
      await row
        .locator('[title]')
        .filter({ hasText: 'l'.repeat(40) })
        .first()
        .getAttribute('title'),
    ).toContain(LONG_USER);
    expect(await row.textContent()).toContain(LONG_USER);
    const documentBox = await page.locator('html').evaluate((element: Box) => element.scrollWidth);
    expect(documentBox).toBeLessThanOrEqual(1280);
  });

  it('keeps a phone-sized window from scrolling sideways and the page links inside the top bar', async () => {
    const opened: OpenedPage = await lab.openSignedInPage(ADMIN, '/explore', { viewport: PHONE });
    const { page } = opened;
    const documentBox = await page.locator('html').evaluate((element: Box) => element.scrollWidth);
    expect(documentBox).toBeLessThanOrEqual(PHONE.width);
    const bar = await page.locator('header.topbar').boundingBox();
    expect(bar).not.toBeNull();
    const items = [
      ...(await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').all()),
      page.getByRole('button', { name: 'Sign out' }),
    ];
    for (const item of items) {
      const box = await item.boundingBox();
      const name = (await item.textContent()) ?? '';
      expect.soft(box, name).not.toBeNull();
      if (box === null || bar === null) continue;
      expect.soft(box.x, name).toBeGreaterThanOrEqual(bar.x);
      expect.soft(box.x + box.width, name).toBeLessThanOrEqual(bar.x + bar.width + 0.5);
      expect.soft(box.y + box.height, name).toBeLessThanOrEqual(bar.y + bar.height + 0.5);
    }

    // The event panel covers the page rather than squeezing the table beside it, and gives it back on Close.
    await page.getByRole('table', { name: 'Matching events' }).locator('tbody tr[tabindex]').first().click();
    const panel = page.getByRole('complementary', { name: 'Event details' });
    await panel.getByText('Raw Cloudflare record').waitFor();
    expect((await panel.boundingBox())?.width ?? 0).toBeGreaterThanOrEqual(PHONE.width - 1);
    await panel.getByRole('button', { name: 'Close event' }).click();
    await panel.waitFor({ state: 'detached' });
    expect((await page.getByRole('table', { name: 'Matching events' }).boundingBox())?.width ?? 0).toBeGreaterThan(300);
  });

  it('moves focus into a confirmation, cancels it with Escape, and returns focus to the button that asked', async () => {
    const { page } = await lab.openSignedInPage(ADMIN, '/settings');
    const remove = page.getByRole('button', { name: `Delete ${OLGA.name}` });
    await remove.click();
    const confirm = page.getByRole('alertdialog', { name: `Delete ${OLGA.name}?` });
    await confirm.waitFor();
    // The safe answer has the focus: an Enter out of habit deletes nobody.
    await expect.poll(async () => page.locator(':focus').textContent()).toBe('Cancel');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    await expect.poll(async () => page.locator(':focus').getAttribute('aria-label')).toBe(`Delete ${OLGA.name}`);
    expect(await page.getByLabel(`Role of ${OLGA.name}`).count()).toBe(1);

    // The same for revoking an API key.
    const form = page.getByRole('form', { name: 'Create API key' });
    await form.getByLabel('Label').fill('kept');
    await form.getByRole('button', { name: 'Create API key' }).click();
    const row = page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: 'kept' });
    const revoke = row.getByRole('button', { name: /^Revoke/ });
    await revoke.click();
    const question = page.getByRole('alertdialog', { name: /^Revoke ztk_/ });
    await question.waitFor();
    await expect.poll(async () => page.locator(':focus').textContent()).toBe('Cancel');
    await page.keyboard.press('Escape');
    await question.waitFor({ state: 'detached' });
    await expect.poll(async () => page.locator(':focus').textContent()).toBe(await revoke.textContent());
    expect(await row.count()).toBe(1);
  });

  it('closes the Explore event panel with Escape and gives the focus back to the row that opened it', async () => {
    const { page } = await lab.openSignedInPage(ADMIN, '/explore');
    const firstRow = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr[tabindex]').first();
    await firstRow.click();
    const panel = page.getByRole('complementary', { name: 'Event details' });
    await panel.getByText('Raw Cloudflare record').waitFor();
    const opened = new URL(page.url()).searchParams.get('event');
    expect(opened).not.toBeNull();
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    expect(new URL(page.url()).searchParams.get('event')).toBeNull();
    expect(await focusedTag(page)).toBe('TR');
    expect(await page.locator(':focus').textContent()).toBe(await firstRow.textContent());
  });
});
