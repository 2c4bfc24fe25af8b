import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.js';
import { startLab, type BrowserLab, type LabUser } from './browser-harness.js';

const ADMIN: LabUser = { name: 'noor@example.com', password: 'correct-horse-battery-staple', role: 'admin' };

/**
 * `serve --no-collect` (or --role api) with no collector anywhere: the sources page says that nothing collects,
 * instead of showing each healthy source as collecting.
 */
describe('Data sources page with no collector running', { timeout: 180_000 }, () => {
  let lab: BrowserLab;

  beforeAll(async () => {
    lab = await startLab({
      name: 'browser-no-collector',
      users: [ADMIN],
      seed: async (app) => {
        const token = new Secret('a-token-nobody-will-use-0000000000000');
        await app.store.saveSource({
          name: 'Idle account',
          type: 'cloudflare_zero_trust',
          accountId: '0123456789abcdef0123456789abcdef',
          tokenCiphertext: app.secrets.encrypt(token),
          tokenLastFour: token.lastFour(),
          createdAt: Date.now(),
          settings: {},
        });
      },
    });
  }, 180_000);

  afterAll(() => lab?.close());

  it('says nothing is collecting and why, and does not badge the source as collecting', async () => {
    const { page, watch } = await lab.openSignedInPage(ADMIN, '/sources');
    const status = page.getByRole('status').filter({ hasText: 'Nothing is collecting' });
    await status.waitFor();
    expect(await status.textContent()).toContain('--no-collect or --role api');
    const card = page.locator('.card').filter({ hasText: 'Idle account' });
    expect(await card.getByText('Not collecting: no collector runs').count()).toBe(1);
    expect(await card.getByText('Collecting', { exact: true }).count()).toBe(0);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
  });
});
