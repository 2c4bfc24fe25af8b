import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import decoderModule from 'mmdb-lib/lib/decoder.js';
import ipModule from 'mmdb-lib/lib/ip.js';
import { parseMetadata, type Metadata } from 'mmdb-lib/lib/metadata.js';

// The format puts its metadata in the last 128 KiB and 16 zero bytes between the search tree and the data.
const METADATA_MAX_BYTES = 128 * 1024;
const DATA_SECTION_SEPARATOR_BYTES = 16;
const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
// Tree pages kept between lookups: the nodes near the root are on every path. Each thread holds its own, and
// places are remembered per address above this reader, so a small cache does: 50,000 random IPv4 lookups took
// 12 µs each with 256 pages (1 MiB) as with 2048 (8 MiB).
const TREE_PAGE_BYTES = 4096;
const MAX_TREE_PAGES = 256;

// mmdb-lib declares decodeByType private. It reads a value of `size` bytes at `offset`; for a map or an array,
// `size` counts entries, which are decoded one by one through decode(), and a boolean reads nothing.
interface DecoderMethods {
  decode(offset: number): { value: unknown; offset: number };
  decodeFast(offset: number): { value: unknown };
  decodeByType(type: number, offset: number, size: number): { value: unknown; offset: number };
}
type DecoderClass = new (db: Buffer, baseOffset?: number) => DecoderMethods;
// CommonJS modules with an `exports.default`: Node hands the whole exports object to a default import, bundlers
// and test runners sometimes the default member itself.
function defaultMember<T>(imported: unknown): T {
  const record = imported as { readonly __esModule?: boolean; readonly default?: T };
  return record.__esModule === true && record.default !== undefined ? record.default : (imported as T);
}
const Decoder = defaultMember<DecoderClass>(decoderModule);
const ip = defaultMember<{ parse(address: string): number[] | Buffer }>(ipModule);

// Bytes of each end of a handed-over data section compared with the file, so a section of another file is refused.
// Both ends are read when a section is made, so the comparison never has to load a page into another's section.
const SECTION_CHECK_BYTES = 4096;
// The data section is read from the file in pages of this size, the first time a record needs one.
const DATA_PAGE_BYTES = 4096;
// Pages of a data section, and so bytes of its page map: a handed-over map of another length is refused.
const pagesIn = (length: number): number => Math.ceil(length / DATA_PAGE_BYTES);
// The most bytes a value's header takes: control byte, extended type byte and three size bytes, or a control byte
// and a four-byte pointer.
const VALUE_HEADER_BYTES = 5;

/**
 * A file's data section in shared memory, filled a page at a time by whichever thread needs a page first. Pages
 * never read stay untouched zeroes that the kernel has not backed, so they cost no memory.
 */
export interface MmdbDataSection {
  readonly bytes: SharedArrayBuffer;
  /** One byte per page of `bytes`, set to 1 once the page holds the file's bytes. */
  readonly loadedPages: SharedArrayBuffer;
}

// mmdb-lib's decoder over a section that is read from the file as the decoder reaches each page.
function pagedDecoder(bytes: Buffer, ensure: (offset: number, length: number) => void): DecoderMethods {
  class PagedDecoder extends Decoder {
    override decode(offset: number): { value: unknown; offset: number } {
      ensure(offset, VALUE_HEADER_BYTES);
      return super.decode(offset);
    }
    // For a map, an array or a boolean `size` is not a byte count; ensuring that many bytes only reads ahead.
    override decodeByType(type: number, offset: number, size: number): { value: unknown; offset: number } {
      ensure(offset, size);
      return super.decodeByType(type, offset, size);
    }
  }
  // Pointers inside the data are relative to its start, so a buffer of the data alone decodes from offset 0.
  return new PagedDecoder(bytes, 0);
}

/**
 * A MaxMind DB file read in place: the search tree (two thirds of a city dataset, 44 MB for IPv4 alone) stays
 * on disk and is read a page at a time, and the data section (19 MB for IPv4) is held in memory only in the
 * pages some lookup has needed. Reading the whole file into memory, as mmdb-lib's Reader needs, cost the
 * collector 60 MB of RSS for IPv4 and 68 MB more for IPv6. The data section is shared memory, so that another
 * thread reading the same file uses the pages already read instead of copies of its own. Decoding the records
 * is left to mmdb-lib.
 */
export class MmdbFile {
  readonly metadata: Metadata;
  /** The data section, for another thread's reader of the same file. */
  readonly dataSection: MmdbDataSection;
  readonly #fd: number;
  readonly #decoder: DecoderMethods;
  readonly #dataStart: number;
  readonly #sectionBytes: Buffer;
  readonly #loadedPages: Uint8Array;
  // Tree pages by page number, each at its slot in one fixed buffer, so lookups make no garbage.
  readonly #pageSlots = new Map<number, number>();
  readonly #pageBuffer = Buffer.alloc(MAX_TREE_PAGES * TREE_PAGE_BYTES);
  readonly #straddling = Buffer.alloc(8);
  readonly #ipv4StartNode: number;

  /** `dataSection` is another reader's section of the same file; one that does not match the file is not used. */
  constructor(path: string, dataSection?: MmdbDataSection) {
    this.#fd = openSync(path, 'r');
    try {
      const size = fstatSync(this.#fd).size;
      const tailStart = Math.max(0, size - METADATA_MAX_BYTES);
      const tail = this.#read(tailStart, size - tailStart);
      const marker = tail.lastIndexOf(METADATA_MARKER);
      if (marker === -1) throw new Error(`${path} is not a MaxMind DB file (no metadata marker)`);
      this.metadata = parseMetadata(tail);
      const dataStart = this.metadata.searchTreeSize + DATA_SECTION_SEPARATOR_BYTES;
      const dataEnd = tailStart + marker;
      if (dataEnd < dataStart) throw new Error(`${path} is truncated: its data section is missing`);
      this.#dataStart = dataStart;
      const shared = dataSection !== undefined && this.#matches(dataSection, dataStart, dataEnd);
      this.dataSection = shared ? dataSection : MmdbFile.#emptySection(dataEnd - dataStart);
      this.#sectionBytes = Buffer.from(this.dataSection.bytes);
      this.#loadedPages = new Uint8Array(this.dataSection.loadedPages);
      if (!shared) {
        const checked = Math.min(SECTION_CHECK_BYTES, this.#sectionBytes.length);
        this.#ensureLoaded(0, checked);
        this.#ensureLoaded(this.#sectionBytes.length - checked, checked);
      }
      this.#decoder = pagedDecoder(this.#sectionBytes, (offset, length) => this.#ensureLoaded(offset, length));
      this.#ipv4StartNode = this.#findIpv4Start();
    } catch (error) {
      closeSync(this.#fd);
      throw error;
    }
  }

  /** The record of the network holding `address`, or null when the file holds none. */
  get(address: string): unknown {
    const bytes = ip.parse(address);
    const { nodeCount } = this.metadata;
    const bits = bytes.length * 8;
    let node = bytes.length === 4 ? this.#ipv4StartNode : 0;
    for (let depth = 0; depth < bits && node < nodeCount; depth += 1) {
      const bit = ((bytes[depth >> 3] ?? 0) >> (7 - (depth & 7))) & 1;
      node = this.#record(node, bit);
    }
    if (node <= nodeCount) return null;
    return this.#decoder.decodeFast(node - nodeCount - DATA_SECTION_SEPARATOR_BYTES).value;
  }

  close(): void {
    closeSync(this.#fd);
  }

  // IPv4 addresses in an IPv6 tree sit under 96 zero bits.
  #findIpv4Start(): number {
    if (this.metadata.ipVersion === 4) return 0;
    let node = 0;
    for (let depth = 0; depth < 96 && node < this.metadata.nodeCount; depth += 1) node = this.#record(node, 0);
    return node;
  }

  // The left (0) or right (1) record of a tree node.
  #record(node: number, side: number): number {
    const { recordSize, nodeByteSize } = this.metadata;
    const bytes = this.#nodeBytes(node * nodeByteSize, nodeByteSize);
    if (recordSize === 24) return side === 0 ? bytes.readUIntBE(0, 3) : bytes.readUIntBE(3, 3);
    if (recordSize === 28) {
      return side === 0
        ? ((bytes[3] ?? 0) & 0xf0) * 0x100000 + bytes.readUIntBE(0, 3)
        : ((bytes[3] ?? 0) & 0x0f) * 0x1000000 + bytes.readUIntBE(4, 3);
    }
    return side === 0 ? bytes.readUInt32BE(0) : bytes.readUInt32BE(4);
  }

  // The bytes of one node, valid until the next call.
  #nodeBytes(offset: number, length: number): Buffer {
    const pageIndex = Math.floor(offset / TREE_PAGE_BYTES);
    const within = offset - pageIndex * TREE_PAGE_BYTES;
    if (within + length > TREE_PAGE_BYTES) {
      // A node across a page boundary is read on its own.
      this.#readInto(this.#straddling, 0, length, offset);
      return this.#straddling;
    }
    let slot = this.#pageSlots.get(pageIndex);
    if (slot === undefined) {
      if (this.#pageSlots.size >= MAX_TREE_PAGES) this.#pageSlots.clear();
      slot = this.#pageSlots.size;
      this.#readInto(this.#pageBuffer, slot * TREE_PAGE_BYTES, TREE_PAGE_BYTES, pageIndex * TREE_PAGE_BYTES);
      this.#pageSlots.set(pageIndex, slot);
    }
    const start = slot * TREE_PAGE_BYTES + within;
    return this.#pageBuffer.subarray(start, start + length);
  }

  #readInto(buffer: Buffer, at: number, length: number, position: number): number {
    let done = 0;
    while (done < length) {
      const read = readSync(this.#fd, buffer, at + done, length - done, position + done);
      if (read === 0) break;
      done += read;
    }
    return done;
  }

  static #emptySection(length: number): MmdbDataSection {
    return {
      bytes: new SharedArrayBuffer(length),
      loadedPages: new SharedArrayBuffer(pagesIn(length)),
    };
  }

  // Reads the pages of the data section that hold `length` bytes from `offset` and that no thread has read yet.
  // Two threads may read the same page at once; both write the file's same bytes.
  #ensureLoaded(offset: number, length: number): void {
    const end = Math.min(offset + Math.max(length, 1), this.#sectionBytes.length);
    for (let page = Math.floor(offset / DATA_PAGE_BYTES); page * DATA_PAGE_BYTES < end; page += 1) {
      if (Atomics.load(this.#loadedPages, page) === 1) continue;
      const at = page * DATA_PAGE_BYTES;
      const pageLength = Math.min(DATA_PAGE_BYTES, this.#sectionBytes.length - at);
      const read = this.#readInto(this.#sectionBytes, at, pageLength, this.#dataStart + at);
      if (read < pageLength) throw new Error(`the file ended ${pageLength - read} bytes into its data section`);
      // The release that makes the page's bytes visible to a thread that sees the mark.
      Atomics.store(this.#loadedPages, page, 1);
    }
  }

  // Only the ends a section's maker read are compared: loading a page here would write into another's section.
  #matches(section: MmdbDataSection, dataStart: number, dataEnd: number): boolean {
    const length = dataEnd - dataStart;
    if (section.bytes.byteLength !== length) return false;
    const pages = new Uint8Array(section.loadedPages);
    if (pages.length !== pagesIn(length)) return false;
    const checked = Math.min(SECTION_CHECK_BYTES, length);
    const loaded = (offset: number): boolean =>
      Atomics.load(pages, Math.floor(offset / DATA_PAGE_BYTES)) === 1 &&
      Atomics.load(pages, Math.floor((offset + checked - 1) / DATA_PAGE_BYTES)) === 1;
    if (!loaded(0) || !loaded(length - checked)) return false;
    const bytes = Buffer.from(section.bytes);
    return (
      this.#read(dataStart, checked).equals(bytes.subarray(0, checked)) &&
      this.#read(dataEnd - checked, checked).equals(bytes.subarray(length - checked))
    );
  }

  #read(position: number, length: number): Buffer {
    const buffer = Buffer.alloc(length);
    return buffer.subarray(0, this.#readInto(buffer, 0, length, position));
  }
}
