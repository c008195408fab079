/**
 * Minimal streaming writer for a STORED (uncompressed) zip, which is what a `.conda` is.
 *
 * Why not a library: we must write ~500 MB without holding it in memory AND give every local
 * header its real CRC-32 and sizes (no data descriptors), because a server that parses the
 * upload as it streams in can only skip over a stored member if the local header says how long
 * it is. We therefore write a placeholder local header, stream the data while computing CRC-32
 * incrementally (zlib.crc32(data, prev), Node >= 20.15), then patch the header in place.
 * No zip64: members and archive stay below 4 GiB (checked).
 */
import { crc32 } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const MAX_32 = 0xffffffff;
// Fixed timestamp (2024-01-01 00:00) like conda-package-handling 2.x, so output is reproducible.
const DOS_TIME = 0;
const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1;

interface CentralEntry {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
}

export class StoredZipWriter {
  private pos = 0;
  private readonly entries: CentralEntry[] = [];

  constructor(private readonly fh: FileHandle) {}

  /** Adds a small member that is already in memory. */
  async addBuffer(name: string, data: Buffer): Promise<void> {
    await this.addStream(name, [data]);
  }

  /** Adds a member from chunks, never holding more than one chunk. */
  async addStream(name: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    const nameBuf = Buffer.from(name, 'utf8');
    const offset = this.pos;
    await this.write(localHeader(nameBuf, 0, 0)); // placeholder, patched below
    let crc = 0;
    let size = 0;
    for await (const chunk of chunks) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      await this.write(chunk);
    }
    if (size > MAX_32 || this.pos > MAX_32) throw new Error(`zip member ${name} needs zip64, not supported`);
    const header = localHeader(nameBuf, crc, size);
    await this.fh.write(header, 0, header.length, offset);
    this.entries.push({ name: nameBuf, crc, size, offset });
  }

  /** Writes the central directory and end record. The caller closes the handle. */
  async finish(): Promise<void> {
    const cdOffset = this.pos;
    for (const e of this.entries) await this.write(centralHeader(e));
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(EOCD_SIG, 0);
    eocd.writeUInt16LE(this.entries.length, 8);
    eocd.writeUInt16LE(this.entries.length, 10);
    eocd.writeUInt32LE(this.pos - cdOffset, 12);
    eocd.writeUInt32LE(cdOffset, 16);
    await this.write(eocd);
  }

  get bytesWritten(): number {
    return this.pos;
  }

  private async write(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, this.pos + done);
      done += bytesWritten;
    }
    this.pos += buf.length;
  }
}

function localHeader(name: Buffer, crc: number, size: number): Buffer {
  const h = Buffer.alloc(30 + name.length);
  h.writeUInt32LE(LOCAL_SIG, 0);
  h.writeUInt16LE(20, 4); // version needed
  h.writeUInt16LE(0, 6); // flags: no data descriptor
  h.writeUInt16LE(0, 8); // method: stored
  h.writeUInt16LE(DOS_TIME, 10);
  h.writeUInt16LE(DOS_DATE, 12);
  h.writeUInt32LE(crc >>> 0, 14);
  h.writeUInt32LE(size, 18); // compressed == uncompressed for stored
  h.writeUInt32LE(size, 22);
  h.writeUInt16LE(name.length, 26);
  h.writeUInt16LE(0, 28);
  name.copy(h, 30);
  return h;
}

function centralHeader(e: CentralEntry): Buffer {
  const h = Buffer.alloc(46 + e.name.length);
  h.writeUInt32LE(CENTRAL_SIG, 0);
  h.writeUInt16LE((3 << 8) | 20, 4); // made by: unix, 2.0
  h.writeUInt16LE(20, 6);
  h.writeUInt16LE(0, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt16LE(DOS_TIME, 12);
  h.writeUInt16LE(DOS_DATE, 14);
  h.writeUInt32LE(e.crc >>> 0, 16);
  h.writeUInt32LE(e.size, 20);
  h.writeUInt32LE(e.size, 24);
  h.writeUInt16LE(e.name.length, 28);
  // extra len, comment len, disk start, internal attrs: all 0
  h.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attrs: regular file rw-r--r--
  h.writeUInt32LE(e.offset, 42);
  e.name.copy(h, 46);
  return h;
}
