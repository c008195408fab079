import { ProvenaError, unprocessable } from '../errors.ts';

/**
 * Bounds on what reading a package may cost. A package is untrusted input: a few kilobytes of
 * zstd or bzip2 can claim gigabytes, so every byte that comes out of a decoder is counted.
 */
export interface ReadLimits {
  /** `info/index.json` and `info/about.json`, each (real ones are a few KiB). */
  maxJsonBytes: number;
  /** `.conda`: what the `info-*.tar.zst` member may decompress to. */
  maxInfoDecompressedBytes: number;
  /** `.tar.bz2`: hard cap on decompressed bytes, whatever the file size. */
  maxDecompressedBytes: number;
  /** `.tar.bz2`: every package may decompress to at least this much... */
  minDecompressedBytes: number;
  /** `.tar.bz2`: ...or to this many times its compressed size, whichever is larger. */
  maxCompressionRatio: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_READ_LIMITS: Readonly<ReadLimits> = Object.freeze({
  maxJsonBytes: 1 * MiB,
  maxInfoDecompressedBytes: 256 * MiB,
  maxDecompressedBytes: 8 * 1024 * MiB,
  minDecompressedBytes: 64 * MiB,
  // bzip2 of real package contents rarely passes 10x; 100x leaves room and still stops bombs
  maxCompressionRatio: 100,
});

export function resolveReadLimits(overrides?: Partial<ReadLimits>): ReadLimits {
  const limits = { ...DEFAULT_READ_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !(value > 0)) {
      throw new ProvenaError('invalid_read_limits', 'internal', `read limit ${key} must be a positive number`);
    }
  }
  return limits;
}

/** The decompressed-bytes budget for a `.tar.bz2` of `compressedSize` bytes. */
export function tarBz2Budget(limits: ReadLimits, compressedSize: number): number {
  const scaled = Math.max(limits.minDecompressedBytes, limits.maxCompressionRatio * compressedSize);
  return Math.min(limits.maxDecompressedBytes, scaled);
}

/** Counts decoded bytes and refuses the package once they pass the limit. */
export class DecompressionBudget {
  private used = 0;
  constructor(
    readonly limit: number,
    /** what is being decoded, for the error detail: "the info member", "the .tar.bz2 stream" */
    private readonly what: string,
  ) {}

  get consumed(): number {
    return this.used;
  }

  spend(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) {
      throw unprocessable(
        'decompression_limit',
        `${this.what} decompresses to more than ${this.limit} bytes, the limit for this package; ` +
          'this looks like a decompression bomb, or the package needs a higher read limit',
        { limit: this.limit },
      );
    }
  }
}
