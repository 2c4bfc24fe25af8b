import type { ConsoleMessage, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startLab, type BrowserLab, type LabUser, type PageWatch } from './browser-harness.js';

const ADMIN: LabUser = { name: 'lin@example.com', password: 'correct-horse-battery-staple', role: 'admin' };
// Beyond the ±8.64e15 ms a JavaScript date holds: no calendar can show it.
const FAR_MS = -17_280_000_000_000_000;
const DAY = 86_400_000;

/**
 * Links people paste or mistype (a range the API cannot read, an alert that does not exist) and answers a page
 * cannot draw: each page says what is wrong, once and in words, and never goes blank. The first load asks the
 * server for nothing it cannot answer.
 */
describe('bad links and unreadable answers in the web UI', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let page: Page;
  let watch: PageWatch;
  const failed: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    lab = await startLab({ name: 'browser-bad-links', users: [ADMIN] });
    ({ page, watch } = await lab.openPage());
    page.on('response', (response: Response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${new URL(response.url()).pathname}`);
    });
    // The browser's own request for an icon is no response of the page; it shows only as a console error.
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error')
        consoleErrors.push(`${message.text()} ${new URL(message.location().url).pathname}`);
    });
  }, 180_000);

  afterAll(() => lab?.close());

  /** The page under the navigation shows something, and nothing threw while drawing it. */
  async function expectShown(): Promise<void> {
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    expect((await page.locator('main').innerText()).trim()).not.toBe('');
    expect(watch.pageErrors).toEqual([]);
  }

  it('loads the first page without asking for a file the server does not have, such as /favicon.ico', async () => {
    await page.goto(`${lab.serve.url}/explore`);
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'No events match' }).waitFor();
    // Give the browser time for the requests it makes on its own after the load.
    await page.waitForTimeout(1000);
    // Only the session check of the signed-out first load may be refused; no file is missing.
    expect(failed.filter((line) => line !== '401 /api/me')).toEqual([]);
    expect(consoleErrors.filter((line) => !line.endsWith(' /api/me'))).toEqual([]);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toMatch(/^data:image\/svg\+xml,/);
    expect(watch.cspViolations).toEqual([]);
  });

  it('explains a time Explore cannot read once, with the hint the API gives', async () => {
    await page.goto(`${lab.serve.url}/explore?from=garbage`);
    const problem = page.getByText('from "garbage" is not a time zerotrail understands.', { exact: false });
    await problem.first().waitFor();
    await page.waitForTimeout(500);
    expect(await problem.count()).toBe(1);
    expect(await problem.getAttribute('role')).toBe('alert');
    expect(await problem.textContent()).toContain('Use now, a relative time such as -15m, -24h or -7d');
    await expectShown();
  });

  it('says that no alert has the id of an alert link that leads nowhere', async () => {
    for (const id of ['al_nope', 'al_0123456789abcdef']) {
      await page.goto(`${lab.serve.url}/alerts?alert=${id}`);
      await page
        .getByRole('alert')
        .filter({ hasText: `No alert has the id "${id}".` })
        .waitFor();
      expect(await page.locator('main').textContent()).not.toMatch(/request is invalid|params\.id/);
      await page.getByRole('link', { name: '← All alerts' }).waitFor();
      await expectShown();
    }
  });

  it('shows the error instead of a blank page for a range too far away', async () => {
    for (const path of ['/dashboard?from=-200000000d', '/explore?from=-200000000d', '/explore?to=-200000000d']) {
      await page.goto(`${lab.serve.url}${path}`);
      await page.getByRole('alert').first().waitFor();
      expect(await page.getByRole('alert').first().textContent(), path).toMatch(/-200000000d/);
      await expectShown();
    }
  });

  it('draws answers holding times no calendar can show, instead of going blank', async () => {
    // Times the server could send for a far range; whatever it sends, the page must stay up.
    await page.route('**/api/dashboard?*', (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({
          fromMs: FAR_MS,
          toMs: Date.now(),
          bucketMs: 10_000 * DAY,
          series: [{ startMs: FAR_MS, allowed: 3, denied: 1, other: 0 }],
          totals: { total: 4, allowed: 3, denied: 1, other: 0 },
          users: [{ key: 'far@example.com', total: 4, allowed: 3, denied: 1 }],
          apps: [],
          idps: [],
          countries: [],
          denied: [],
          newUsers: { count: 1, first: [{ key: 'far@example.com', firstSeenMs: FAR_MS }] },
          newApps: { count: 0, first: [] },
          newCountries: { count: 0, first: [] },
        }),
      }),
    );
    await page.route('**/api/histogram?*', (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({
          from: '-200000000d',
          to: 'now',
          bucketMs: 10_000 * DAY,
          total: 4,
          buckets: [{ start: 'long ago', count: 4 }],
        }),
      }),
    );
    try {
      await page.goto(`${lab.serve.url}/dashboard?from=-200000d`);
      await page.getByRole('region', { name: 'Totals' }).waitFor();
      expect(await page.getByRole('heading', { name: 'Dashboard', exact: true }).count()).toBe(1);
      await page.getByRole('region', { name: 'New in this period' }).getByText('far@example.com').waitFor();
      await expectShown();

      await page.goto(`${lab.serve.url}/explore?from=-200000d`);
      await page.getByRole('figure', { name: 'Events over time' }).locator('.histogram-total').waitFor();
      await expectShown();
    } finally {
      await page.unrouteAll();
    }
  });
});
