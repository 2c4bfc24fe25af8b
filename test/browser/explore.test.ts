import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../src/core/event.js';
import { startLab, type BrowserLab, type LabUser, type PageWatch } from './browser-harness.js';

// The part of a scrolling element the tests touch; the test files are compiled without the DOM library.
interface Scrollable {
  readonly scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
  scrollTo(options: { readonly top: number }): void;
  scrollBy(options: { readonly top: number }): void;
}

const ANALYST: LabUser = { name: 'ellen@example.com', password: 'correct-horse-battery-staple', role: 'analyst' };
const SOURCE = 'Explore Lab';
const HOUR = 3_600_000;
// More access events than three pages of the table, spread over the last six hours.
const SIMULATED = 360;
// A small, known group of events two hours ago: one user, two addresses, two countries.
const ZOE = 'zoe@example.com';
const ZOE_EVENTS = 6;
const ACCESS = 'dataset:access_requests';

function zoeEvents(nowMs: number): NormalizedEvent[] {
  return Array.from({ length: ZOE_EVENTS }, (_, n) => {
    const time = nowMs - 2 * HOUR + n * 60_000;
    return {
      id: `${time.toString(16).padStart(12, '0')}${String(n).padStart(20, '5')}`,
      time,
      sourceName: SOURCE,
      accountId: '0123456789abcdef0123456789abcdef',
      dataset: 'access_requests',
      classUid: 3002,
      activity: 'logon',
      outcome: n < 2 ? 'failure' : 'success',
      user: ZOE,
      srcIp: n % 2 === 0 ? '198.51.100.7' : '198.51.100.8',
      country: n < 4 ? 'nz' : 'au',
      app: 'Payroll',
      appUid: null,
      idp: 'okta',
      rayId: `a${String(n).padStart(15, '0')}`,
      ocsf: { class_uid: 3002 },
      raw: { ray_id: `a${String(n).padStart(15, '0')}` },
    };
  });
}

/**
 * Explore against a real `zerotrail serve` collecting from the Cloudflare API simulator: the histogram and its
 * zoom, query completion and inline errors, filter for / out and pivot from values, the column chooser,
 * scrolling through more rows than one page, and the streamed export.
 */
describe('Explore in the web UI', { timeout: 240_000 }, () => {
  let lab: BrowserLab;
  let page: Page;
  let watch: PageWatch;

  beforeAll(async () => {
    const now = Date.now();
    lab = await startLab({
      name: 'browser-explore',
      simulator: { traffic: { kind: 'fixed', fromMs: now - 6 * HOUR, toMs: now - 60_000, count: SIMULATED } },
      env: { ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1' },
      users: [ANALYST],
      source: SOURCE,
      seed: (app) => app.store.append(zoeEvents(now), { id: `${SOURCE}/zoe`, value: {} }),
    });
    ({ page, watch } = await lab.openSignedInPage(ANALYST, '/explore', { acceptDownloads: true }));
  }, 240_000);

  afterAll(() => lab?.close());

  const table = (): Locator => page.getByRole('table', { name: 'Matching events' });
  const rows = (): Locator => table().locator('tbody tr');
  const histogram = (): Locator => page.getByRole('figure', { name: 'Events over time' });
  const total = async (): Promise<number> =>
    Number(((await histogram().locator('.histogram-total').textContent()) ?? '0').replace(/,/g, ''));
  const loaded = async (): Promise<number> =>
    Number(
      /^([\d,]+) events? loaded/
        .exec((await page.getByRole('status').first().textContent()) ?? '')?.[1]
        ?.replace(/,/g, '') ?? 0,
    );
  const columnTexts = async (label: string): Promise<string[]> => {
    const headers = await table().locator('thead th').allTextContents();
    const index = headers.indexOf(label);
    expect(index, `column ${label} in ${headers.join(', ')}`).toBeGreaterThanOrEqual(0);
    return rows()
      .locator(`td:nth-child(${index + 1})`)
      .allTextContents();
  };
  const openValueMenu = async (row: Locator, label: string): Promise<Locator> => {
    await row.hover();
    await row.getByRole('button', { name: `Actions for ${label}` }).click();
    const menu = page.getByRole('menu', { name: `${label} value` });
    await menu.waitFor();
    return menu;
  };

  it('counts every match in the histogram and loads further pages while scrolling, rendering only rows in view', async () => {
    // The collector backfills the simulated hours right after it starts.
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(ACCESS)}`);
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Search' }).click();
          await histogram().locator('.histogram-total').waitFor();
          return total();
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBe(SIMULATED + ZOE_EVENTS);
    const matches = await total();
    await rows().first().waitFor();
    expect(await loaded()).toBe(100);
    expect(await rows().count()).toBeLessThan(60);

    const results = page.locator('.results');
    for (let attempt = 0; attempt < 40 && (await loaded()) < matches; attempt += 1) {
      await results.evaluate((element: Scrollable) => element.scrollTo({ top: element.scrollHeight }));
      await page.waitForTimeout(150);
    }
    expect(await loaded()).toBe(matches);
    expect(await page.getByRole('status').first().textContent()).toContain('all matches shown');
    await results.evaluate((element: Scrollable) => element.scrollTo({ top: element.scrollHeight }));
    await table().getByText('End of the matches.').waitFor();
    // Still only the rows in view, now the oldest ones: the last row is the oldest match.
    expect(await rows().count()).toBeLessThan(60);
    expect(Number(await rows().last().getAttribute('data-index'))).toBe(matches - 1);
    const times = await columnTexts('Time (UTC)');
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('zooms into a range dragged across the histogram, and into one bar by clicking it', async () => {
    const before = await total();
    const box = await histogram().locator('svg').boundingBox();
    expect(box).not.toBeNull();
    const { x, y, width, height } = box ?? { x: 0, y: 0, width: 0, height: 0 };
    // The simulated events cover the last six of the 24 hours shown; drag across the last 12 hours.
    await page.mouse.move(x + width * 0.5, y + height / 2);
    await page.mouse.down();
    await page.mouse.move(x + width * 0.75, y + height / 2, { steps: 5 });
    await page.mouse.move(x + width * 0.999, y + height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL((url) => /^\d{4}-\d\d-\d\dT/.test(url.searchParams.get('from') ?? ''));
    const url = new URL(page.url());
    const from = Date.parse(url.searchParams.get('from') ?? '');
    const to = Date.parse(url.searchParams.get('to') ?? '');
    expect(url.searchParams.get('q')).toBe(ACCESS);
    expect(to - from).toBeGreaterThan(11 * HOUR);
    expect(to - from).toBeLessThan(13 * HOUR);
    expect(await page.getByLabel('Time range').locator('option:checked').textContent()).toContain(' UTC → ');
    await expect.poll(() => total()).toBeLessThanOrEqual(before);
    await expect.poll(() => total()).toBeGreaterThan(0);

    // A click on the tallest bar zooms into that bar alone.
    const bars = histogram().locator('rect.bar');
    await bars.first().waitFor();
    const heights = await bars.evaluateAll((elements: { getAttribute(name: string): string | null }[]) =>
      elements.map((bar) => Number(bar.getAttribute('height'))),
    );
    const tallest = bars.nth(heights.indexOf(Math.max(...heights)));
    const barBox = await tallest.boundingBox();
    await page.mouse.click((barBox?.x ?? 0) + (barBox?.width ?? 0) / 2, (barBox?.y ?? 0) + (barBox?.height ?? 0) - 1);
    await page.waitForURL((next) => next.searchParams.get('from') !== url.searchParams.get('from'));
    const zoomed = new URL(page.url());
    const span = Date.parse(zoomed.searchParams.get('to') ?? '') - Date.parse(zoomed.searchParams.get('from') ?? '');
    expect(span).toBeLessThanOrEqual(10 * 60_000);
    await expect.poll(() => total()).toBeGreaterThan(0);
    await rows().first().waitFor();
    const start = (zoomed.searchParams.get('from') ?? '').slice(0, 19).replace('T', ' ');
    const end = (zoomed.searchParams.get('to') ?? '').slice(0, 19).replace('T', ' ');
    for (const time of await columnTexts('Time (UTC)')) {
      expect(time >= start && time < end, `${time} in ${start}..${end}`).toBe(true);
    }

    // Zooming out doubles the span around the same middle; an end that would pass the present reads "now" (the
    // tallest bar can be the newest one).
    const middle = Date.parse(zoomed.searchParams.get('from') ?? '') + span / 2;
    const zoomedOutAt = Date.now();
    await histogram().getByRole('button', { name: 'Zoom out' }).click();
    await page.waitForURL((next) => next.searchParams.get('from') !== zoomed.searchParams.get('from'));
    const wider = new URL(page.url());
    expect(Math.abs(Date.parse(wider.searchParams.get('from') ?? '') - (middle - span))).toBeLessThanOrEqual(2_000);
    // The URL leaves out the default end, which is "now".
    const widerTo = wider.searchParams.get('to') ?? 'now';
    if (widerTo === 'now') expect(middle + span).toBeGreaterThanOrEqual(zoomedOutAt);
    else expect(Math.abs(Date.parse(widerTo) - (middle + span))).toBeLessThanOrEqual(2_000);
    await expect.poll(() => total()).toBeGreaterThan(0);
  });

  it('keeps a range finer than a minute exactly when Apply is pressed with nothing changed', async () => {
    // A second dragged across the histogram, and an end with milliseconds as a link can carry it.
    for (const [from, to] of [
      ['2026-11-26T19:12:09Z', '2026-11-26T19:12:10Z'],
      ['2026-11-26T19:10:00Z', '2026-11-26T19:12:09.500Z'],
    ] as const) {
      await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(ACCESS)}&from=${from}&to=${to}`);
      expect(Date.parse(`${await page.getByLabel('To (UTC)').inputValue()}Z`)).toBe(Date.parse(to));
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByRole('button', { name: 'Search' }).click();
      await histogram().locator('.histogram-total').waitFor();
      expect(await page.getByText('The end must come after the start.').count()).toBe(0);
      const url = new URL(page.url());
      expect([url.searchParams.get('from'), url.searchParams.get('to')]).toEqual([from, to]);
    }
  });

  it('completes field names and values from the keyboard, and marks a syntax error while typing', async () => {
    await page.goto(`${lab.serve.url}/explore`);
    const query = page.getByRole('textbox', { name: 'Query' });
    const suggestions = page.getByRole('listbox', { name: 'Suggestions' });
    await query.click();
    await query.pressSequentially('outc');
    await suggestions.getByRole('option', { name: /^outcome/ }).waitFor();
    await query.press('ArrowDown');
    expect(await suggestions.getByRole('option', { selected: true }).textContent()).toMatch(/^outcome/);
    await query.press('Enter');
    expect(await query.inputValue()).toBe('outcome:');
    // After the field come its most frequent values in the range.
    await suggestions.getByRole('option', { name: 'failure' }).waitFor();
    await query.pressSequentially('fa');
    await query.press('Tab');
    expect(await query.inputValue()).toBe('outcome:failure');
    expect(await suggestions.isVisible()).toBe(false);
    await query.press('Enter');
    await page.waitForURL((url) => url.searchParams.get('q') === 'outcome:failure');
    await rows().first().waitFor();
    expect(new Set(await columnTexts('Outcome'))).toEqual(new Set(['failure']));

    // An alias completes too, and Escape closes the list without changing the text.
    await query.fill('');
    await query.pressSequentially('outcome:failure AND ema');
    await suggestions.getByRole('option', { name: /^email/ }).waitFor();
    await query.press('Escape');
    expect(await suggestions.isVisible()).toBe(false);
    expect(await query.inputValue()).toBe('outcome:failure AND ema');

    // No Search needed: the problem is marked in the box at its column and explained under it.
    await query.fill('outcome:failure AND (user:ada');
    const error = page.locator('.query-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/column \d+/);
    expect(await query.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.query-mirror mark').count()).toBe(1);
    await query.fill('colour:red');
    await expect.poll(async () => (await error.textContent()) ?? '').toContain('no field "colour"');
    expect(await page.locator('.query-mirror span').textContent()).toBe('');
    await query.fill('outcome:failure');
    await expect.poll(() => error.count()).toBe(0);
    expect(await query.getAttribute('aria-invalid')).toBe('false');
  });

  it('filters for and against a value from the table and from the event panel', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`user:${ZOE}`)}`);
    await rows().first().waitFor();
    expect(await rows().count()).toBe(ZOE_EVENTS);

    const country = await openValueMenu(rows().first(), 'Country');
    await country.getByRole('menuitem', { name: 'Filter out this value' }).click();
    await page.waitForURL((url) => url.searchParams.get('q') === `user:${ZOE} AND NOT country:au`);
    await expect.poll(() => rows().count()).toBe(4);
    expect(new Set(await columnTexts('Country'))).toEqual(new Set(['NZ']));

    const ip = await openValueMenu(rows().first(), 'Source IP');
    await ip.getByRole('menuitem', { name: 'Filter for this value' }).click();
    await page.waitForURL((url) => (url.searchParams.get('q') ?? '').endsWith('AND src_ip:198.51.100.8'));
    await expect.poll(() => rows().count()).toBe(2);
    expect(new Set(await columnTexts('Source IP'))).toEqual(new Set(['198.51.100.8']));

    // The event panel offers the same on its fields.
    await rows().first().click();
    const fields = page.getByRole('complementary', { name: 'Event details' }).getByRole('region', {
      name: 'Normalized fields',
    });
    await fields.waitFor();
    await fields.getByRole('button', { name: 'Actions for Outcome' }).click();
    await page
      .getByRole('menu', { name: 'Outcome value' })
      .getByRole('menuitem', { name: 'Filter out this value' })
      .click();
    // The newest of the two is a success; filtering successes out leaves the failure.
    await page.waitForURL((url) => (url.searchParams.get('q') ?? '').endsWith('AND NOT outcome:success'));
    await expect.poll(() => rows().count()).toBe(1);
    expect(await columnTexts('Outcome')).toEqual(['failure']);
  });

  it('pivots from a value to its timeline, and to an Explore search for a value without one', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`user:${ZOE} AND outcome:failure`)}`);
    await rows().first().waitFor();
    const user = await openValueMenu(rows().first(), 'User');
    await user.getByRole('menuitem', { name: 'Timeline of this user' }).click();
    await page.waitForURL((url) => url.pathname === `/timeline/user/${encodeURIComponent(ZOE)}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Timeline of user ${ZOE}`);
    await page.goBack();

    await rows().first().waitFor();
    const dataset = await openValueMenu(rows().first(), 'Dataset');
    await dataset.getByRole('menuitem', { name: 'Search only this value' }).click();
    await page.waitForURL((url) => url.pathname === '/explore' && url.searchParams.get('q') === ACCESS);
    await expect.poll(() => total()).toBe(SIMULATED + ZOE_EVENTS);
  });

  it('chooses the columns, keeps them in the link, and remembers them in this browser', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`user:${ZOE}`)}`);
    await rows().first().waitFor();
    await page.getByRole('button', { name: 'Columns' }).click();
    const chooser = page.getByRole('group', { name: 'Columns shown' });
    await chooser.getByRole('checkbox', { name: 'Ray id' }).check();
    await chooser.getByRole('checkbox', { name: 'Country' }).uncheck();
    await page.waitForURL((url) => url.searchParams.get('cols') === 'time,outcome,user,src_ip,app,dataset,ray_id');
    expect(await table().locator('thead th').allTextContents()).toEqual([
      'Time (UTC)',
      'Outcome',
      'User',
      'Source IP',
      'Application',
      'Dataset',
      'Ray id',
    ]);
    expect((await columnTexts('Ray id')).every((ray) => /^a\d{15}$/.test(ray))).toBe(true);

    // A link without columns shows the ones chosen last here.
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`user:${ZOE}`)}`);
    await rows().first().waitFor();
    expect(await table().locator('thead th').allTextContents()).toContain('Ray id');
    expect(await table().locator('thead th').allTextContents()).not.toContain('Country');
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('button', { name: 'Default columns' }).click();
    await expect.poll(() => table().locator('thead th').allTextContents()).toContain('Country');
  });

  it('exports the whole result as CSV and NDJSON, streamed to a download', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(ACCESS)}&from=-7d`);
    await rows().first().waitFor();
    await expect.poll(() => total()).toBe(SIMULATED + ZOE_EVENTS);
    const matches = await total();

    const [csvDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export CSV' }).click(),
    ]);
    expect(csvDownload.suggestedFilename()).toBe('zerotrail-events.csv');
    const csvPath = join(lab.dir.path, 'export.csv');
    await csvDownload.saveAs(csvPath);
    const csvLines = readFileSync(csvPath, 'utf8').trimEnd().split('\n');
    expect(csvLines[0]?.split(',').slice(0, 4)).toEqual(['id', 'time', 'outcome', 'user']);
    expect(csvLines).toHaveLength(matches + 1);
    expect(csvLines.filter((line) => line.includes(ZOE))).toHaveLength(ZOE_EVENTS);

    const [ndjsonDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export NDJSON' }).click(),
    ]);
    const ndjsonPath = join(lab.dir.path, 'export.ndjson');
    await ndjsonDownload.saveAs(ndjsonPath);
    const records = readFileSync(ndjsonPath, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; dataset: string; time: string });
    expect(records).toHaveLength(matches);
    expect(new Set(records.map((record) => record.id)).size).toBe(matches);
    expect(new Set(records.map((record) => record.dataset))).toEqual(new Set(['access_requests']));
    const times = records.map((record) => record.time);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('ran without a dialog, a CSP violation or a page error', () => {
    expect(watch.dialogs).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });
});
