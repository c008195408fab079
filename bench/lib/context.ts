/**
 * What every section gets: settings, tool paths, a temp root, a cleanup registry, and one
 * shared Provena instance (channel "bench", an upload key) for the read-side sections.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx } from './nginx.ts';
import { provenaUnavailableReason, startProvena, type ProvenaServer } from './provena-process.ts';
import { findWrk } from './wrk.ts';

export interface BenchConfig {
  /** seconds per wrk measurement */
  wrkDurationSec: number;
  /** seconds of unreported wrk warm-up per server (JIT, caches) */
  warmupSec: number;
  wrkThreads: number;
  wrkConnections: number;
  /** measurements per side; the better one is reported (noisy shared machine) */
  rounds: number;
  downloadSizeBytes: number;
  ingestSizeBytes: number;
  ingestRounds: number;
}

export const DEFAULT_CONFIG: BenchConfig = {
  wrkDurationSec: 6,
  warmupSec: 2,
  wrkThreads: 2,
  wrkConnections: 32,
  rounds: 2,
  downloadSizeBytes: 10e6,
  ingestSizeBytes: 500e6,
  ingestRounds: 2,
};

/** `--quick`: for checking the harness itself, not for figures. */
export const QUICK_CONFIG: BenchConfig = {
  ...DEFAULT_CONFIG,
  wrkDurationSec: 2,
  warmupSec: 1,
  rounds: 1,
  ingestSizeBytes: 50e6,
  ingestRounds: 1,
};

export interface SharedProvena {
  server: ProvenaServer;
  channel: string;
  uploadKey: string;
}

export const BENCH_CHANNEL = 'bench';

export class BenchContext {
  readonly nginx = findNginx();
  readonly wrk = findWrk();
  /** null when Provena can run; otherwise why not */
  readonly provenaMissing = provenaUnavailableReason();
  private readonly cleanups: Array<() => Promise<void>> = [];
  private shared: Promise<SharedProvena> | null = null;

  private constructor(
    readonly config: BenchConfig,
    readonly tmpRoot: string,
  ) {}

  static async create(config: BenchConfig): Promise<BenchContext> {
    const tmpRoot = await mkdtemp(join(tmpdir(), 'provena-bench-'));
    const ctx = new BenchContext(config, tmpRoot);
    // Registered first, so it runs last (LIFO): after the servers using it are stopped.
    ctx.onCleanup(() => rm(tmpRoot, { recursive: true, force: true }));
    return ctx;
  }

  log(msg: string): void {
    process.stderr.write(`[bench] ${msg}\n`);
  }

  onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
  }

  /** Runs cleanups newest first; never throws (cleanup must not hide the results). */
  async cleanup(): Promise<void> {
    while (this.cleanups.length > 0) {
      const fn = this.cleanups.pop()!;
      try {
        await fn();
      } catch (e) {
        this.log(`cleanup failed: ${String(e)}`);
      }
    }
  }

  /** Starts a Provena of its own in `dir` (stopped at cleanup, or earlier by the caller). */
  async startProvena(dir: string, env: Record<string, string> = {}): Promise<ProvenaServer> {
    const server = await startProvena(dir, env);
    this.onCleanup(() => server.stop());
    this.log(`provena pid ${server.pid} at ${server.baseUrl} (log ${server.logPath})`);
    return server;
  }

  /** The shared instance for read-side sections, started on first use. */
  sharedProvena(): Promise<SharedProvena> {
    this.shared ??= (async () => {
      const server = await this.startProvena(join(this.tmpRoot, 'provena-shared'));
      await server.createChannel(BENCH_CHANNEL);
      const uploadKey = await server.createUploadKey(BENCH_CHANNEL);
      return { server, channel: BENCH_CHANNEL, uploadKey };
    })();
    return this.shared;
  }
}
