import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { runInProcess } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import {
  ensureWebBuild,
  launchChromium,
  startServe,
  watchPage,
  type PageWatch,
  type RunningServe,
} from './browser-harness.js';

const ANALYST = 'tim@example.com';
const PASSWORD = 'correct-horse-battery-staple';
const SOURCE = 'Timeline Lab';
const HOUR = 3_600_000;

/**
 * An analyst pivots from an event in Explore to the timeline of its user, against a real `zerotrail serve`
 * collecting from the Cloudflare API simulator, and from there to the timeline of an address.
 */
describe('entity timelines in the web UI', { timeout: 180_000 }, () => {
  let simulator: Simulator;
  let dir: { readonly path: string; remove(): void };
  let serve: RunningServe;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watch: PageWatch;

  // Building the UI when it is stale and starting chromium can take a while on a loaded machine.
  beforeAll(async () => {
    ensureWebBuild();
    const now = Date.now();
    simulator = await startSimulator({
      rateLimit: { requests: 1_000_000, windowSecs: 300 },
      traffic: { kind: 'fixed', fromMs: now - 6 * HOUR, toMs: now - 60_000, count: 300 },
    });
    dir = makeTempDir('browser-timeline');
    const env: Record<string, string> = {
      ZEROTRAIL_DATA_DIR: dir.path,
      CLOUDFLARE_API_BASE_URL: simulator.baseUrl,
      ZEROTRAIL_CF_RATE_LIMIT: '1000000/300',
      ZEROTRAIL_CF_RATE_SHARE: '1',
      ZEROTRAIL_LOG_LEVEL: 'error',
      ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1',
      CF_TOKEN: simulator.token,
    };
    const user = await runInProcess(['user', 'add', ANALYST, '--role', 'analyst'], { env, input: PASSWORD });
    expect(user.code, user.stderr).toBe(0);
    const source = await runInProcess(
      ['source', 'add', '--name', SOURCE, '--account-id', simulator.accountId, '--token-env', 'CF_TOKEN'],
      { env },
    );
    expect(source.code, source.stderr).toBe(0);
    serve = await startServe(env);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    watch = watchPage(page);
    await page.goto(`${serve.url}/explore`);
    await page.getByLabel('User name').fill(ANALYST);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await serve?.stop();
    await simulator?.stop();
    dir?.remove();
  });

  it("pivots from an event to its user's timeline and sees the summary, oldest event first", async () => {
    const rows = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
    // The collector backfills the simulated hours right after start.
    await expect
      .poll(
        async () => {
          await page.goto(`${serve.url}/explore?q=${encodeURIComponent('dataset:access_requests')}`);
          await page.getByRole('table', { name: 'Matching events' }).or(page.getByText('No events match')).waitFor();
          return rows.count();
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    await rows.first().click();
    const panel = page.getByRole('complementary', { name: 'Event details' });
    const fields = panel.getByRole('region', { name: 'Normalized fields' });
    await fields.waitFor();
    const userField = fields.locator('div').filter({ has: page.locator('dt', { hasText: /^User/ }) });
    const user = (await userField.locator('dd').textContent()) ?? '';
    const eventValue = async (label: string): Promise<string> =>
      (await fields
        .locator('div')
        .filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}`) }) })
        .first()
        .locator('dd')
        .textContent()) ?? '';
    const seen = {
      Countries: (await eventValue('Country')).toUpperCase(),
      'Identity providers': await eventValue('Identity provider'),
      Applications: await eventValue('Application'),
    };
    expect(user).toMatch(/@/);

    const link = panel.getByRole('link', { name: 'Timeline of this user' });
    expect(await link.getAttribute('href')).toBe(`/timeline/user/${encodeURIComponent(user)}`);
    await link.click();
    await page.waitForURL((url) => url.pathname === `/timeline/user/${encodeURIComponent(user)}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: user }).waitFor();

    const summary = page.getByRole('region', { name: 'Summary' });
    await summary.waitFor();
    const value = async (label: string): Promise<string> =>
      (await summary
        .locator('div')
        .filter({ has: page.locator('dt', { hasText: label }) })
        .locator('dd')
        .textContent()) ?? '';
    const total = Number(await value('Events'));
    expect(total).toBeGreaterThan(0);
    expect(Number(await value('Allowed')) + Number(await value('Denied'))).toBeLessThanOrEqual(total);
    expect(await value('First seen')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    // The event's own country, IdP and application are among the user's, each with how many events had it.
    let listed = 0;
    for (const [label, own] of Object.entries(seen)) {
      if (own === '—') continue;
      expect(await value(label)).toContain(`${own} (`);
      listed++;
    }
    expect(listed).toBeGreaterThan(0);

    const events = page.getByRole('table', { name: 'Timeline events' }).locator('tbody tr');
    await events.first().waitFor();
    const times = await events.locator('td:nth-child(1)').allTextContents();
    expect(times).toEqual([...times].sort());
    expect(new Set(await events.locator('td:nth-child(4)').allTextContents())).toEqual(new Set([user]));
    expect(`${(await value('First seen')).replace(' UTC', '')}`).toBe(times[0]);

    // A reload of the shared link lands on the same timeline.
    await page.reload();
    await page.getByRole('region', { name: 'Summary' }).waitFor();
    expect(Number(await value('Events'))).toBe(total);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
  });

  it("goes on from the user's timeline to the timeline of an address, and back", async () => {
    const events = page.getByRole('table', { name: 'Timeline events' }).locator('tbody tr');
    const ipLink = events.first().locator('td:nth-child(5) a');
    const ip = (await ipLink.textContent()) ?? '';
    await ipLink.click();
    await page.waitForURL((url) => url.pathname === `/timeline/ip/${encodeURIComponent(ip)}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: ip }).waitFor();
    await page.getByRole('region', { name: 'Summary' }).waitFor();
    expect(new Set(await events.locator('td:nth-child(5)').allTextContents())).toEqual(new Set([ip]));
    await page.goBack();
    await page.waitForURL((url) => url.pathname.startsWith('/timeline/user/'));
  });
});
