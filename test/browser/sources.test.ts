import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN } from '../../src/simulator/simulator.js';
import { signIn, startLab, type LabUser, type PageWatch, type SimulatedLab } from './browser-harness.js';

const ADMIN: LabUser = { name: 'ada@example.com', password: 'correct-horse-battery-staple', role: 'admin' };
const SOURCE = 'Production Zero Trust';
// Without "Zero Trust Read", one of the three base permissions.
const LIMITED_TOKEN = 'Lm9pR4sV8xB3cF6hJ1lW5yD0gT2nQ8eA4uZt7qK2';
// A second full token, to replace the first.
const SECOND_TOKEN = 'Sc2dT9wQ4rE7yU1iO5pA3sD8fG6hJ0kL2zX4cVnB';
const HOUR = 3_600_000;

interface HealthRow {
  readonly dataset: string;
  readonly state: string;
  readonly lastSuccessAt: string | null;
}

/**
 * An admin manages a data source in Debian's chromium against a real `zerotrail serve` collecting from the
 * Cloudflare API simulator: test before saving, health, pause and resume, token replacement, delete.
 */
describe('Data sources page', { timeout: 180_000 }, () => {
  let lab: SimulatedLab;
  let page: Page;
  let watch: PageWatch;
  // Every API answer the page received, to check that no token ever comes back.
  const answers: Promise<string>[] = [];

  beforeAll(async () => {
    const now = Date.now();
    lab = await startLab({
      name: 'browser-sources',
      simulator: {
        traffic: { kind: 'fixed', fromMs: now - 20 * HOUR, toMs: now - 60_000, count: 600 },
        tokens: [
          { value: DEFAULT_TOKEN },
          { value: SECOND_TOKEN },
          {
            value: LIMITED_TOKEN,
            permissions: ['Access: Audit Logs Read', 'Access: Organizations, Identity Providers, and Groups Read'],
          },
        ],
      },
      env: {
        ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1',
        // Every second, so a paused source visibly stops and a resumed one visibly runs again.
        ZEROTRAIL_COLLECT__INTERVAL_SECS: '1',
      },
      users: [ADMIN],
    });
    ({ page, watch } = await lab.openPage());
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/api/')) answers.push(response.text().catch(() => ''));
    });
  }, 180_000);

  afterAll(() => lab?.close());

  const card = (): Locator => page.getByRole('article', { name: `Data source ${SOURCE}` });

  /** The source as the API lists it, fetched with the page's own session. */
  const listed = async (): Promise<{ paused: boolean; tokenLast4: string; datasets: HealthRow[] } | undefined> => {
    const res = await page.request.get(`${lab.serve.url}/api/sources`);
    expect(res.status()).toBe(200);
    const body = (await res.json()) as {
      sources: { name: string; paused: boolean; tokenLast4: string; datasets: HealthRow[] }[];
    };
    return body.sources.find((source) => source.name === SOURCE);
  };

  it('tests the token and Account ID before saving, shows the permission table, and saves nothing until asked', async () => {
    await page.goto(`${lab.serve.url}/sources`);
    await signIn(page, ADMIN, (signed) => signed.getByRole('heading', { name: 'No data sources yet' }));
    await page.getByRole('button', { name: 'Add data source' }).click();
    await page.getByRole('button', { name: /^API/ }).click();
    await page.getByRole('button', { name: /^Cloudflare Zero Trust/ }).click();

    const token = page.getByLabel('API Token');
    await token.fill(LIMITED_TOKEN);
    await page.getByLabel('Account ID').fill(lab.simulator.accountId);
    await page.getByLabel('Source Name').fill(SOURCE);
    const testButton = page.getByRole('button', { name: 'Test connection', exact: true });
    await testButton.click();
    const table = page.getByRole('table', { name: 'Connection test: what this token can read' });
    await table.waitFor({ timeout: 60_000 });
    await page.getByText('Not saved: the token lacks a permission zerotrail needs.', { exact: false }).waitFor();
    expect(await table.getByRole('row').filter({ hasText: 'devices' }).textContent()).toContain('missing');
    expect(await listed()).toBeUndefined();

    await token.fill(DEFAULT_TOKEN);
    // Changing a credential clears a result that no longer applies.
    expect(await table.count()).toBe(0);
    // A required dataset Cloudflare does not answer for is not checked, not missing, and nothing is said to work.
    lab.simulator.setFaults({ serverError: { routes: ['access-groups'], statuses: [503] } });
    try {
      await testButton.click();
      await page.getByText('Not verified: Cloudflare did not answer every check', { exact: false }).waitFor({
        timeout: 60_000,
      });
      const groups = await table
        .getByRole('row')
        .filter({ has: page.getByRole('cell', { name: 'groups', exact: true }) })
        .textContent();
      expect(groups).toContain('not checked');
      expect(groups).not.toContain('missing');
    } finally {
      lab.simulator.setFaults({});
    }
    await token.fill(`${DEFAULT_TOKEN} `);
    await token.fill(DEFAULT_TOKEN);
    await testButton.click();
    await page.getByText('Connection works. Nothing is saved yet', { exact: false }).waitFor({ timeout: 60_000 });
    const access = table.getByRole('row').filter({ hasText: 'access_requests' });
    expect(await access.textContent()).toContain('collected');
    expect(await access.textContent()).toContain('Access: Audit Logs Read');
    expect(await listed()).toBeUndefined();

    await page.getByRole('button', { name: 'Test connection and add' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Added "${SOURCE}"` })
      .waitFor({ timeout: 60_000 });
    expect(await listed()).toMatchObject({ paused: false, tokenLast4: DEFAULT_TOKEN.slice(-4) });
    await page.getByRole('button', { name: 'Close' }).click();
  });

  it('shows per-dataset health: state, lag, events in the last hour, the 24-hour hourly average and the last error', async () => {
    const health = card().getByRole('table', { name: `Dataset health of ${SOURCE}` });
    const headers = await health.getByRole('columnheader').allTextContents();
    expect(headers).toEqual([
      'Dataset',
      'State',
      'Last success',
      'Lag',
      'Events, last hour',
      'Per hour, 24 h avg',
      'Events, 24 h',
      'Last error',
    ]);
    const access = health.getByRole('row').filter({ hasText: 'access_requests' });
    await expect
      .poll(async () => Number(((await access.locator('td.num').textContent()) ?? '0').replace(/,/g, '')), {
        timeout: 90_000,
        interval: 1000,
      })
      .toBeGreaterThan(0);
    const cells = await access.getByRole('cell').allTextContents();
    const total = Number((cells[6] ?? '').replace(/,/g, ''));
    expect(cells[1]).toBe('Healthy');
    expect(cells[3]).toMatch(/^\d+ (s|min|h)/);
    expect(Number(cells[4])).toBeGreaterThanOrEqual(0);
    expect(Math.abs(Number(cells[5]) - total / 24)).toBeLessThanOrEqual(0.5);
    expect(cells[7]).toBe('—');
    // Inventory datasets have no event rate; their lag is the age of the last snapshot.
    const groups = await health.getByRole('row').filter({ hasText: 'groups' }).getByRole('cell').allTextContents();
    expect(groups[4]).toBe('—');
  });

  it('pauses collection, shows it paused, and resumes it', async () => {
    await card().getByRole('button', { name: 'Pause' }).click();
    await card().getByText('Collection is paused by ada@example.com since', { exact: false }).waitFor();
    await expect.poll(async () => card().locator('.badges').textContent()).toContain('Paused');
    const states = await card()
      .getByRole('table', { name: `Dataset health of ${SOURCE}` })
      .locator('tbody tr td:nth-child(2)')
      .allTextContents();
    // Optional datasets this token may not read keep saying so; every other one shows the pause.
    expect(new Set(states)).toEqual(new Set(['Paused', 'Not permitted']));
    expect(
      await card().getByRole('row').filter({ hasText: 'access_requests' }).locator('td:nth-child(2)').textContent(),
    ).toBe('Paused');
    expect((await listed())?.paused).toBe(true);

    // The collector runs every second; paused, the dataset's last success stays where it was. The server keeps
    // health for 10 s, so each reading below waits that out to see the stored status.
    const lastSuccess = async (): Promise<string | null | undefined> =>
      (await listed())?.datasets.find((row) => row.dataset === 'access_requests')?.lastSuccessAt;
    const pastHealthCache = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 11_000));
    await pastHealthCache();
    const whenPaused = await lastSuccess();
    expect(whenPaused).not.toBeNull();
    await pastHealthCache();
    expect(await lastSuccess()).toBe(whenPaused);

    await card().getByRole('button', { name: 'Resume' }).click();
    await card().getByText('Collection resumed', { exact: false }).waitFor();
    await expect.poll(async () => card().locator('.badges').textContent()).not.toContain('Paused');
    expect((await listed())?.paused).toBe(false);
    await expect.poll(lastSuccess, { timeout: 60_000, interval: 1000 }).not.toBe(whenPaused);
  });

  it('replaces the token through a write-only field that never shows it, refusing one that lacks a permission', async () => {
    await card().getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: `Edit ${SOURCE}` });
    const token = form.getByLabel('New API token');
    expect(await token.getAttribute('type')).toBe('password');
    expect(await token.inputValue()).toBe('');
    expect(await token.getAttribute('placeholder')).toBe(`keep ••••${DEFAULT_TOKEN.slice(-4)}`);
    expect(await form.getByLabel('Account ID').inputValue()).toBe(lab.simulator.accountId);

    await token.fill(LIMITED_TOKEN);
    await form.getByRole('button', { name: 'Verify and save' }).click();
    await form.getByRole('alert').filter({ hasText: 'Zero Trust Read' }).waitFor({ timeout: 60_000 });
    expect((await listed())?.tokenLast4).toBe(DEFAULT_TOKEN.slice(-4));

    await token.fill(SECOND_TOKEN);
    await form.getByRole('button', { name: 'Verify and save' }).click();
    await card()
      .getByText(`token replaced (it ends in ••••${SECOND_TOKEN.slice(-4)})`, { exact: false })
      .waitFor({ timeout: 60_000 });
    await expect.poll(async () => card().locator('p.meta').textContent()).toContain(`••••${SECOND_TOKEN.slice(-4)}`);
    expect((await listed())?.tokenLast4).toBe(SECOND_TOKEN.slice(-4));

    await page.reload();
    await card().getByRole('button', { name: 'Edit' }).click();
    expect(
      await page
        .getByRole('form', { name: `Edit ${SOURCE}` })
        .getByLabel('New API token')
        .inputValue(),
    ).toBe('');
    const html = await page.content();
    for (const secret of [DEFAULT_TOKEN, SECOND_TOKEN, LIMITED_TOKEN]) expect(html).not.toContain(secret.slice(0, 12));
    await page
      .getByRole('form', { name: `Edit ${SOURCE}` })
      .getByRole('button', { name: 'Cancel' })
      .click();
  });

  it('deletes only after a confirmation that says stored events stay searchable until retention', async () => {
    await card().getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('alertdialog', { name: `Delete ${SOURCE}?` });
    expect(await confirm.textContent()).toContain(
      'Events already stored stay searchable in Explore until retention removes them.',
    );
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect(await listed()).toBeDefined();

    await card().getByRole('button', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete data source' }).click();
    await page.getByText(`Data source "${SOURCE}" deleted.`, { exact: false }).waitFor();
    await card().waitFor({ state: 'detached' });
    expect(await listed()).toBeUndefined();
    const events = await page.request.get(
      `${lab.serve.url}/api/events?${new URLSearchParams({ q: `source:"${SOURCE}"`, from: '-2d', limit: '5' }).toString()}`,
    );
    expect(events.status()).toBe(200);
    expect(((await events.json()) as { events: unknown[] }).events.length).toBeGreaterThan(0);

    const audit = await page.request.get(`${lab.serve.url}/api/audit?limit=50`);
    const actions = ((await audit.json()) as { entries: { action: string; target: string | null }[] }).entries
      .filter((entry) => entry.action.startsWith('source_') && entry.target === SOURCE)
      .map((entry) => entry.action);
    expect(actions).toEqual([
      'source_removed',
      'source_updated',
      'source_updated',
      'source_resumed',
      'source_paused',
      'source_added',
    ]);
    const received = (await Promise.all(answers)).join('\n');
    expect(received).toContain('access_requests');
    for (const secret of [DEFAULT_TOKEN, SECOND_TOKEN, LIMITED_TOKEN]) {
      expect(received).not.toContain(secret.slice(0, 12));
      expect(received).not.toContain(secret.slice(-8));
    }
    expect(watch.dialogs).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
  });
});
