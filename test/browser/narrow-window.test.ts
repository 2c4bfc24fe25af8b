import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deniedAccess, deniedWithRay } from '../helpers/events.js';
import { startLab, type BrowserLab, type LabUser, type PageWatch } from './browser-harness.js';

const ADMIN: LabUser = {
  name: 'maximiliane.oberhuber-schmidt@example.com',
  password: 'correct-horse-battery',
  role: 'admin',
};
const SOURCE = 'Narrow Lab';
const HOUR = 3_600_000;
const WIDTH = 800;
// A user whose denied logins raise an alert, so every page has rows to lay out.
const NORA = 'nora.vanderbilt-castellanos@example.com';
// An event that names no address and no application.
const BARE_RAY = 'ba4eba4eba4eba4e';
// The one way the UI writes a time; " UTC" only where no heading says the zone.
const TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const TIME_UTC = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/;

// The parts of page elements the tests read; the test files are compiled without the DOM library.
interface Box {
  readonly scrollWidth: number;
  readonly clientWidth: number;
}
interface Styled {
  readonly ownerDocument: {
    readonly defaultView: { getComputedStyle(element: Styled): { readonly fontFamily: string } };
  };
}

/**
 * Every page in an 800-pixel window against a real `zerotrail serve` collecting from the Cloudflare API simulator:
 * no page scrolls sideways (a wide table scrolls inside its own box), the top bar stays on one line, the Explore
 * columns of names stay readable, and times and missing values look the same on every page.
 */
describe('the web UI in an 800-pixel window', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let page: Page;
  let watch: PageWatch;
  let alertPath = '';

  beforeAll(async () => {
    const now = Date.now();
    lab = await startLab({
      name: 'browser-narrow',
      simulator: { traffic: { kind: 'fixed', fromMs: now - 6 * HOUR, toMs: now - 60_000, count: 200 } },
      env: { ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1' },
      users: [ADMIN],
      source: SOURCE,
      seed: async (app) => {
        const denied = Array.from({ length: 12 }, (_, n) =>
          deniedWithRay(n, now - 2 * HOUR + n * 20_000, NORA, 'intranet.example.com'),
        );
        const bare = deniedAccess(
          { time: now - HOUR, srcIp: null, app: null, appUid: null, country: null, rayId: BARE_RAY },
          99,
        );
        await app.store.append([...denied, bare], { id: `${SOURCE}/seeded`, value: {} });
        expect((await app.detector.catchUp()).created).toBeGreaterThanOrEqual(1);
      },
    });
    ({ page, watch } = await lab.openSignedInPage(ADMIN, '/alerts', { viewport: { width: WIDTH, height: 900 } }));
    const link = page
      .getByRole('table', { name: 'Alerts' })
      .getByRole('row')
      .filter({ hasText: NORA })
      .getByRole('link')
      .first();
    await link.waitFor();
    alertPath = (await link.getAttribute('href')) ?? '';
  }, 180_000);

  afterAll(() => lab?.close());

  /** Neither the document nor the scrolling main area is wider than the window. */
  async function expectNoSidewaysScroll(path: string): Promise<void> {
    const documentBox = await page.locator('html').evaluate((element: Box) => element.scrollWidth);
    // Soft: one run names every page that fails, not only the first.
    expect.soft(documentBox, path).toBeLessThanOrEqual(WIDTH);
    const main = await page
      .locator('main')
      .evaluate((element: Box) => ({ scrollWidth: element.scrollWidth, clientWidth: element.clientWidth }));
    expect.soft(main.scrollWidth, path).toBeLessThanOrEqual(main.clientWidth);
  }

  /** Every link and button of the top bar on one line, and the bar itself not wider than the window. */
  async function expectOneLineTopBar(path: string): Promise<void> {
    const bar = page.locator('header.topbar');
    const items = [
      ...(await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').all()),
      bar.getByRole('button', { name: 'Sign out' }),
    ];
    for (const item of items) {
      const box = await item.boundingBox();
      // One line of text with its padding is about 32 px; two lines are over 50.
      expect.soft(box?.height ?? 0, `${path}: ${(await item.textContent()) ?? ''}`).toBeLessThan(40);
    }
    const sizes = await bar.evaluate((element: Box) => ({
      scrollWidth: element.scrollWidth,
      clientWidth: element.clientWidth,
    }));
    expect.soft(sizes.scrollWidth, path).toBeLessThanOrEqual(sizes.clientWidth);
  }

  const width = async (locator: Locator): Promise<number> => (await locator.boundingBox())?.width ?? 0;

  it('lays out every page without sideways scrolling and with the top bar on one line', async () => {
    // The collector backfills the simulated hours right after it starts; the pages are laid out with them.
    await expect
      .poll(
        async () => {
          const answer = await page.evaluate<{ events: unknown[] }>(
            `fetch('/api/events?q=dataset:access_requests&limit=200').then((response) => response.json())`,
          );
          return answer.events.length;
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBeGreaterThanOrEqual(200);
    const pages: readonly [string, (shown: Page) => Locator][] = [
      ['/explore', (shown) => shown.getByRole('table', { name: 'Matching events' }).locator('tbody tr').first()],
      ['/explore?event=missing', (shown) => shown.getByRole('complementary', { name: 'Event details' })],
      ['/dashboard', (shown) => shown.getByRole('region', { name: 'Totals' })],
      ['/alerts', (shown) => shown.getByRole('table', { name: 'Alerts' })],
      [alertPath, (shown) => shown.getByRole('table', { name: 'Alert history' })],
      ['/rules', (shown) => shown.getByRole('region', { name: 'Rule zt-brute-force-user' })],
      ['/sources', (shown) => shown.getByRole('table', { name: `Dataset health of ${SOURCE}` })],
      ['/settings', (shown) => shown.getByRole('table', { name: 'Audit trail' })],
      [`/timeline/user/${encodeURIComponent(NORA)}`, (shown) => shown.getByRole('table', { name: 'Timeline events' })],
    ];
    for (const [path, ready] of pages) {
      await page.goto(`${lab.serve.url}${path}`);
      await ready(page).waitFor();
      // Charts and late parts of the page draw after the first answer.
      await page.waitForTimeout(500);
      await expectNoSidewaysScroll(path);
      await expectOneLineTopBar(path);
    }
    expect(watch.pageErrors).toEqual([]);
  });

  it('keeps the User and Application columns of Explore readable; the table scrolls inside its box', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent('dataset:access_requests')}`);
    const table = page.getByRole('table', { name: 'Matching events' });
    await table.locator('tbody tr').first().waitFor();
    for (const name of ['User', 'Application']) {
      expect(await width(table.getByRole('columnheader', { name, exact: true })), name).toBeGreaterThanOrEqual(150);
    }
    // The box around the table scrolls sideways when its columns need more room than the window has.
    const results = await page
      .locator('.results')
      .evaluate((element: Box) => ({ scrollWidth: element.scrollWidth, clientWidth: element.clientWidth }));
    expect(results.scrollWidth).toBeGreaterThan(results.clientWidth);
    await expectNoSidewaysScroll('/explore');
  });

  it('gives timelines the same page margins as every other page', async () => {
    await page.goto(`${lab.serve.url}/timeline/user/${encodeURIComponent(NORA)}`);
    const heading = page.getByRole('heading', { level: 1 });
    await heading.waitFor();
    const timelineLeft = (await heading.boundingBox())?.x ?? 0;
    await page.goto(`${lab.serve.url}/alerts`);
    const alertsHeading = page.getByRole('heading', { name: 'Alerts', exact: true });
    await alertsHeading.waitFor();
    expect(timelineLeft).toBeGreaterThanOrEqual(16);
    expect(timelineLeft).toBe((await alertsHeading.boundingBox())?.x);
  });

  it('shows one placeholder, in one font, for every missing value', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`ray_id:${BARE_RAY}`)}`);
    const row = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr').first();
    await row.waitFor();
    const ip = row.locator('td:nth-child(4) .cell-text');
    const application = row.locator('td:nth-child(5) .cell-text');
    expect(await ip.textContent()).toBe('—');
    expect(await application.textContent()).toBe('—');
    // The same character drawn in another font reads as another placeholder.
    const font = (cell: Locator): Promise<string> =>
      cell.evaluate((element: Styled) => element.ownerDocument.defaultView.getComputedStyle(element).fontFamily);
    expect(await font(ip)).toBe(await font(application));
    expect(await width(ip)).toBe(await width(application));
    expect(watch.pageErrors).toEqual([]);
  });

  it('writes times one way on every page, naming the zone once', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`ray_id:${BARE_RAY}`)}`);
    const row = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr').first();
    expect(await row.locator('td:nth-child(1)').textContent()).toMatch(TIME);

    await page.goto(`${lab.serve.url}/alerts`);
    const alertRow = page.getByRole('table', { name: 'Alerts' }).getByRole('row').filter({ hasText: NORA });
    await alertRow.first().waitFor();
    const cells = await alertRow.first().getByRole('cell').allTextContents();
    expect(cells[4]).toMatch(TIME);
    expect(cells[5]).toMatch(TIME);
    await page.getByRole('columnheader', { name: 'First event (UTC)' }).waitFor();

    await page.goto(`${lab.serve.url}${alertPath}`);
    const facts = page.locator('.alert-facts');
    await facts.waitFor();
    const events = facts.locator('dt', { hasText: 'Events' }).locator('xpath=following-sibling::dd[1]');
    expect(await events.textContent()).toMatch(
      /^12, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    );
    const history = await page
      .getByRole('table', { name: 'Alert history' })
      .getByRole('row')
      .nth(1)
      .getByRole('cell')
      .first()
      .textContent();
    expect(history).toMatch(TIME);

    await page.goto(`${lab.serve.url}/settings`);
    const users = page.getByRole('table', { name: 'Users' });
    await users.waitFor();
    expect(await users.getByRole('row').nth(1).getByRole('cell').nth(2).textContent()).toMatch(TIME);
    const audit = page.getByRole('table', { name: 'Audit trail' });
    expect(await audit.getByRole('row').nth(1).getByRole('cell').first().textContent()).toMatch(TIME);

    await page.goto(`${lab.serve.url}/sources`);
    const added = page.getByRole('article', { name: `Data source ${SOURCE}` }).getByText(/^added /);
    await added.waitFor();
    expect(((await added.textContent()) ?? '').replace(/^added /, '')).toMatch(TIME_UTC);

    await page.goto(`${lab.serve.url}/timeline/user/${encodeURIComponent(NORA)}`);
    const first = page
      .getByRole('table', { name: 'Timeline events' })
      .getByRole('row')
      .nth(1)
      .getByRole('cell')
      .first();
    expect(await first.textContent()).toMatch(TIME);
    expect(watch.pageErrors).toEqual([]);
  });
});
