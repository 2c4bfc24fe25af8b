import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../src/core/event.js';
import { startLab, type BrowserLab, type LabUser, type PageWatch } from './browser-harness.js';

const ANALYST = 'dana@example.com';
const PASSWORD = 'correct-horse-battery-staple';
const ANALYST_USER: LabUser = { name: ANALYST, password: PASSWORD, role: 'analyst' };
const SOURCE = 'Dashboard Lab';
const HOUR = 3_600_000;
// Logins the simulator serves, all in the past, so the numbers stop moving once the backfill is stored.
const SIMULATED = 600;
// The simulator's logins get their countries from the IP dataset; these few carry one as Cloudflare would report
// it, from a documentation address the dataset cannot place, so the map shows both kinds.
const TRAVELS = ['DE', 'DE', 'DE', 'JP', 'JP', 'BR'] as const;
const LOGINS = SIMULATED + TRAVELS.length;

function travel(index: number, nowMs: number): NormalizedEvent {
  const time = nowMs - 2 * HOUR - index * 60_000;
  return {
    id: `${time.toString(16).padStart(12, '0')}${String(index).padStart(20, '7')}`,
    time,
    sourceName: SOURCE,
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: index === 0 ? 'failure' : 'success',
    user: 'traveller@example.com',
    srcIp: '192.0.2.44',
    country: TRAVELS[index] ?? null,
    app: 'Wiki',
    appUid: null,
    idp: 'okta',
    rayId: `trav${index}`,
    ocsf: { class_uid: 3002 },
    raw: {},
  };
}

interface Count {
  readonly key: string;
  readonly total: number;
  readonly allowed: number;
  readonly denied: number;
}
interface DashboardAnswer {
  readonly totals: { total: number; allowed: number; denied: number; other: number };
  readonly users: Count[];
  readonly countries: Count[];
  readonly newUsers: { count: number };
}

/**
 * An analyst opens the dashboard on data collected from the Cloudflare API simulator by a real `zerotrail
 * serve`, reads the numbers the API and the store give, and drills down from a bar and a country into Explore.
 */
describe('the dashboard in the web UI', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let page: Page;
  let watch: PageWatch;
  let from: string;
  let to: string;

  beforeAll(async () => {
    const now = Date.now();
    from = new Date(now - 30 * HOUR).toISOString();
    to = new Date(now).toISOString();
    lab = await startLab({
      name: 'browser-dashboard',
      simulator: { traffic: { kind: 'fixed', fromMs: now - 26 * HOUR, toMs: now - 60_000, count: SIMULATED } },
      env: { ZEROTRAIL_COLLECT__BACKFILL_DAYS: '2' },
      users: [ANALYST_USER],
      source: SOURCE,
      seed: (app) =>
        app.store.append(
          TRAVELS.map((_, index) => travel(index, now)),
          { id: `${SOURCE}/travels`, value: {} },
        ),
    });
    ({ page, watch } = await lab.openSignedInPage(ANALYST_USER, '/dashboard'));
  }, 180_000);

  afterAll(() => lab?.close());

  async function api<T>(path: string): Promise<T> {
    const response = await page.request.get(`${lab.serve.url}${path}`);
    expect(response.status(), path).toBe(200);
    return (await response.json()) as T;
  }

  const range = (): string => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

  it('shows the numbers the API and the stored events give once the backfill is in', async () => {
    // The collector backfills the simulated day right after start.
    await expect
      .poll(async () => (await api<DashboardAnswer>(`/api/dashboard?${range()}`)).totals.total, {
        timeout: 90_000,
        interval: 1000,
      })
      .toBe(LOGINS);
    const answer = await api<DashboardAnswer>(`/api/dashboard?${range()}`);
    // The same counts straight from the events, through the aggregate route, which does not use the summary.
    const byOutcome = await api<{ buckets: { key: string; count: number }[] }>(
      `/api/aggregate?groupBy=outcome&q=${encodeURIComponent('class_uid:3002')}&${range()}`,
    );
    const outcome = (key: string): number => byOutcome.buckets.find((b) => b.key === key)?.count ?? 0;
    expect(answer.totals).toEqual({
      total: LOGINS,
      allowed: outcome('success'),
      denied: outcome('failure'),
      other: outcome('unknown'),
    });
    const byUser = await api<{ buckets: { key: string; count: number }[] }>(
      `/api/aggregate?groupBy=user&limit=3&q=${encodeURIComponent('class_uid:3002')}&${range()}`,
    );
    expect(answer.users.slice(0, 3).map((u) => u.total)).toEqual(byUser.buckets.map((b) => b.count));

    await page.goto(`${lab.serve.url}/dashboard?${range()}`);
    const tiles = page.getByRole('region', { name: 'Totals' });
    const tile = async (label: string): Promise<number> =>
      Number(((await tiles.locator(`[data-tile="${label}"] .tile-value`).textContent()) ?? '').replace(/,/g, ''));
    await tiles.waitFor();
    expect(await tile('Authentications')).toBe(answer.totals.total);
    expect(await tile('Allowed')).toBe(answer.totals.allowed);
    expect(await tile('Denied')).toBe(answer.totals.denied);
    expect(await tile('New users')).toBe(answer.newUsers.count);
    // Everything is new in a period that holds all the data.
    expect(answer.newUsers.count).toBeGreaterThan(0);

    // The charts draw once their container has a size.
    const short = (key: string): string => (key.length > 28 ? `${key.slice(0, 27)}…` : key);
    await expect
      .poll(() =>
        page.getByRole('region', { name: 'Top users' }).locator('.recharts-yAxis-tick-labels text').allTextContents(),
      )
      .toEqual(answer.users.map((u) => short(u.key)));
    const keys = answer.countries.map((c) => c.key);
    expect(keys).toEqual(expect.arrayContaining(['BR', 'DE', 'JP']));
    // The simulated staff sign in from several home countries besides the travels.
    expect(keys.length).toBeGreaterThan(3);
    const countries = page.getByRole('region', { name: 'Authentications by country' });
    // A country too small for a 1:110m map (Singapore) is listed under it with its count instead.
    for (const country of answer.countries) {
      const shape = countries.locator(`path[data-country="${country.key}"]`);
      const total = country.total.toLocaleString('en-US');
      if ((await shape.count()) === 0) {
        expect(await countries.getByText(/Not on the map/).textContent()).toContain(`${country.key} ${total}`);
      } else {
        expect(await shape.getAttribute('aria-label')).toContain(`: ${total} authentications`);
      }
    }
  });

  it('opens the events of a top user from its bar, filtered in Explore', async () => {
    const answer = await api<DashboardAnswer>(`/api/dashboard?${range()}`);
    const top = answer.users[0];
    expect(top).toBeDefined();
    // The first bar of the chart is the top user's allowed logins.
    await page.getByRole('region', { name: 'Top users' }).locator('.recharts-bar-rectangle path').first().click();
    await page.waitForURL(/\/explore\?/);
    const url = new URL(page.url());
    expect(url.searchParams.get('q')).toBe(`class_uid:3002 AND user:${top?.key ?? ''} AND outcome:success`);
    expect(url.searchParams.get('from')).toBe(from);
    expect(url.searchParams.get('to')).toBe(to);
    const rows = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
    await rows.first().waitFor();
    expect(new Set(await rows.locator('td:nth-child(3)').allTextContents())).toEqual(new Set([top?.key]));
    expect(new Set(await rows.locator('td:nth-child(2)').allTextContents())).toEqual(new Set(['success']));
  });

  it('opens the events of a country from the map, and comes back to the same dashboard', async () => {
    await page.goBack();
    await page.waitForURL(/\/dashboard\?/);
    const answer = await api<DashboardAnswer>(`/api/dashboard?${range()}`);
    const country = answer.countries[0];
    expect(country).toBeDefined();
    await page
      .getByRole('region', { name: 'Authentications by country' })
      .locator(`path[data-country="${country?.key ?? ''}"]`)
      .click();
    await page.waitForURL(/\/explore\?/);
    expect(new URL(page.url()).searchParams.get('q')).toBe(`class_uid:3002 AND country:${country?.key ?? ''}`);
    await page.getByRole('table', { name: 'Matching events' }).locator('tbody tr').first().waitFor();
  });

  it('says so when a period holds nothing, and ran without a dialog, a CSP violation or a page error', async () => {
    await page.goto(`${lab.serve.url}/dashboard?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`);
    await page.getByText('No authentications in this period.', { exact: false }).waitFor();
    expect(watch).toEqual({ dialogs: [], cspViolations: [], pageErrors: [] });
  });
});
