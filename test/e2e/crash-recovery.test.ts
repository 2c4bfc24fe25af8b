import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../src/simulator/simulator.js';
import { spawnCli } from '../helpers/cli.js';
import { expectExactlyOnce, setUpCollector, storedRawRecords, type CollectorEnv } from '../helpers/collector-env.js';

const HOUR_MS = 3_600_000;
const EVENT_COUNT = 40_000;

/**
 * Kills a real collector process with SIGKILL at random moments (mid-request, mid-transaction, between pages),
 * restarts it each time, and proves the store ends with exactly the events the API served.
 */
describe('collector survives kill -9 at any moment', () => {
  let setup: CollectorEnv;
  const now = Date.now();

  beforeAll(async () => {
    setup = await setUpCollector({
      seed: 7,
      // Every read permission, so the SCIM and audit logs go through the same kills as the Access logs.
      tokens: [{ value: 'zt-sim-token-crash-recovery-every-read-0001', permissions: Object.values(PERMISSIONS) }],
      adminTraffic: { scimUpdatesPerDay: 2000, auditEntriesPerDay: 2000 },
      traffic: { kind: 'fixed', fromMs: now - 3 * 24 * HOUR_MS, toMs: now - HOUR_MS, count: EVENT_COUNT },
      // Slow pages stretch a run over a few seconds so the kills land at varied points.
      faults: { slow: { delayMs: 40 }, bursts: [{ atMs: now - 2 * 24 * HOUR_MS, count: 2500 }] },
    });
  });
  afterAll(async () => setup.cleanup());

  it('loses and repeats nothing across several SIGKILLs', async () => {
    const args = ['collect', '--once', '--backfill-days', '4'];
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      const child = spawnCli(args, setup.env);
      child.stdin?.end();
      const stderr: Buffer[] = [];
      child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const delayMs = 400 + Math.floor(Math.random() * 900);
      const timer = setTimeout(() => {
        if (child.kill('SIGKILL')) kills++;
      }, delayMs);
      const code = await exited;
      clearTimeout(timer);
      if (code === 0) break;
      expect(code, Buffer.concat(stderr).toString()).toBeNull();
    }
    expect(kills).toBeGreaterThanOrEqual(2);

    const final = spawnCli(args, setup.env);
    final.stdin?.end();
    const finalErr: Buffer[] = [];
    final.stderr?.on('data', (chunk: Buffer) => finalErr.push(chunk));
    const finalCode = await new Promise<number | null>((resolve) => final.on('exit', (code) => resolve(code)));
    expect(finalCode, Buffer.concat(finalErr).toString()).toBe(0);

    const expected = setup.simulator.eventsBetween(now - 4 * 24 * HOUR_MS, now + HOUR_MS);
    expect(expected.length).toBe(EVENT_COUNT + 2500);
    expectExactlyOnce(await storedRawRecords(setup.env), expected);
    // The collector's backfill starts when its first run starts, a moment after `now`, and its runs read up to
    // their own now: compare [now - 4 days + 5 minutes, now) so records in those moments cannot make the sets differ.
    const from = now - 4 * 24 * HOUR_MS + 5 * 60_000;
    const scimTime = (record: Record<string, unknown>): number => Date.parse(String(record['logged_at']));
    const auditTime = (record: Record<string, unknown>): number =>
      Date.parse(String((record['action'] as Record<string, unknown>)['time']));
    const scim = setup.simulator.scimUpdatesBetween(from, now);
    const audit = setup.simulator.auditLogsBetween(from, now, 'v2');
    expect(scim.length).toBeGreaterThan(3000);
    expect(audit.length).toBeGreaterThan(3000);
    expectExactlyOnce(
      (await storedRawRecords(setup.env, 'scim_updates')).filter((r) => scimTime(r) >= from && scimTime(r) < now),
      scim,
    );
    expectExactlyOnce(
      (await storedRawRecords(setup.env, 'audit_logs')).filter((r) => auditTime(r) >= from && auditTime(r) < now),
      audit,
    );
  }, 180_000);
});
