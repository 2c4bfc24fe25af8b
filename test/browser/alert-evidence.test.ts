import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type BrowserLab } from './browser-harness.js';
import { deniedWithRay as denied } from '../helpers/events.js';

const ANALYST = { name: 'alan@example.com', password: 'analyst-battery-staple-horse', role: 'analyst' } as const;
const MANY = 'many@example.com';
const FLOOD = 'flood@example.com';

/**
 * "Show in Explore" on an alert with a large body of evidence, in Debian's chromium against a real `zerotrail
 * serve`: every evidence event reaches Explore while they fit in a query, and past that the link says how many do.
 */
describe('Show in Explore from an alert with many evidence events', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let page: Page;

  beforeAll(async () => {
    lab = await startLab({
      name: 'browser-alert-evidence',
      users: [ANALYST],
      seed: async (app) => {
        // One denied login a second: every one falls in the brute-force rule's ten-minute window.
        const start = Date.now() - 2 * 3_600_000;
        await app.store.append(
          [
            ...Array.from({ length: 104 }, (_, n) => denied(n, start + n * 1_000, MANY, 'Wiki')),
            ...Array.from({ length: 300 }, (_, n) => denied(1_000 + n, start + n * 1_000, FLOOD, 'Wiki')),
          ],
          { id: 'cf/access_requests', value: {} },
        );
        await app.detector.catchUp();
      },
    });
    ({ page } = await lab.openSignedInPage(ANALYST, '/alerts', { viewport: { width: 1280, height: 900 } }));
  }, 180_000);

  afterAll(() => lab?.close());

  const total = (): Promise<number> =>
    page
      .getByRole('figure', { name: 'Events over time' })
      .locator('.histogram-total')
      .textContent()
      .then((text) => Number((text ?? '0').replace(/,/g, '')));

  async function openAlert(user: string): Promise<number> {
    await page.goto(`${lab.serve.url}/alerts`);
    await page
      .getByRole('table', { name: 'Alerts' })
      .getByRole('row')
      .filter({ hasText: `${user} was denied` })
      .getByRole('link', { name: 'Brute force against a user' })
      .click();
    const heading = page.getByRole('heading', { name: /^Evidence \(\d+\)$/ });
    await heading.waitFor();
    return Number(/\d+/.exec((await heading.textContent()) ?? '')?.[0]);
  }

  it('shows all 104 evidence events in Explore', async () => {
    expect(await openAlert(MANY)).toBe(104);
    await page.getByRole('link', { name: 'Show in Explore', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/explore');
    await expect.poll(() => total(), { timeout: 20_000 }).toBe(104);
  });

  it('says how many of 300 evidence events the Explore link holds, and Explore shows that many', async () => {
    expect(await openAlert(FLOOD)).toBe(300);
    const link = page.getByRole('link', { name: /^Show the first \d+ of 300 in Explore$/ });
    const shown = Number(/first (\d+)/.exec((await link.textContent()) ?? '')?.[1]);
    expect(shown).toBeGreaterThan(100);
    expect(shown).toBeLessThan(300);
    await link.click();
    await page.waitForURL((url) => url.pathname === '/explore');
    await expect.poll(() => total(), { timeout: 20_000 }).toBe(shown);
  });
});
