/**
 * The full repodata files of large subdirs, written by a long-lived child process (builder-child.ts)
 * instead of on the server's event loop: a 1M-record rebuild costs seconds of CPU and hundreds of MB,
 * which would otherwise delay every upload's acknowledgement meanwhile. The child runs at a lower CPU
 * priority with its own database connection and blob store; the server keeps the lease and records
 * what the child wrote (RepodataPublisher).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Settings } from '../config/settings.ts';
import { FULL_FILES, type FullFile, type FullFilesRequest, type FullFilesWriter, type WrittenFullFiles } from '../../core/channel/full-files.ts';

/** What the child needs to open its own store and blobs: the first message it receives. */
export interface BuilderConfig {
  settings: Settings;
  dataDir: string;
  /** where it spools the files while writing them (the server's spool directory) */
  spoolDir: string;
}

/** parent → child */
export type BuilderMessage = { config: BuilderConfig } | { id: number; request: FullFilesRequest };
/** child → parent */
export type BuilderReply = { id: number; result: WrittenFullFiles } | { id: number; error: string };

interface Pending {
  request: FullFilesRequest;
  resolve: (written: WrittenFullFiles) => void;
  reject: (err: Error) => void;
}

/** One child process and the writes it owes an answer to. */
interface Builder {
  process: ChildProcess;
  pending: Map<number, Pending>;
  /** why it is gone, once it is */
  ended: string | null;
}

/** how long a child asked to stop (SIGTERM) gets before it is killed */
const DEFAULT_KILL_AFTER_MS = 5_000;

/**
 * The child's module: builder-child.ts beside this file when running from src (tsx), builder-child.js
 * when running from dist; a .ts child needs the tsx loader, which `provena` may have registered
 * programmatically (bin/provena.js) rather than by a flag the child would inherit.
 */
function childModule(): { file: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(fromSource ? './builder-child.ts' : './builder-child.js', import.meta.url));
  const execArgv = inheritedExecArgv(process.execArgv);
  if (fromSource && !execArgv.some((a) => a.includes('tsx'))) execArgv.push('--import', import.meta.resolve('tsx'));
  return { file, execArgv };
}

/**
 * The server's Node options minus those that would make the child something else: a script given
 * by -e/-p (it would run instead of the child's module) and a debugger port already taken.
 */
function inheritedExecArgv(argv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (['-e', '--eval', '-p', '--print'].includes(a)) i++; // and its script
    else if (!/^(--eval=|--print=|--input-type|--inspect)/.test(a)) kept.push(a);
  }
  return kept;
}

export class ProcessFullFiles implements FullFilesWriter {
  private builder: Builder | null = null;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly config: BuilderConfig,
    private readonly options: { killAfterMs?: number } = {},
  ) {}

  /** The running child's process id (none before the first write, after a crash or close). */
  get pid(): number | undefined {
    return this.builder?.process.pid;
  }

  write(request: FullFilesRequest): Promise<WrittenFullFiles> {
    if (this.closed) return Promise.reject(new Error(`repodata builder: closed; ${request.channel}/${request.subdir} not written`));
    const builder = this.builder ?? this.start();
    const id = this.nextId++;
    return new Promise<WrittenFullFiles>((resolve, reject) => {
      builder.pending.set(id, { request, resolve, reject });
      // held open only while it owes answers: an idle builder keeps no process alive
      builder.process.ref();
      builder.process.channel?.ref();
      builder.process.send({ id, request } satisfies BuilderMessage, (err) => {
        if (err) this.settle(builder, id, { id, error: `sending the request failed: ${err.message}` });
      });
    });
  }

  /** Ends the child (SIGTERM, then SIGKILL) and rejects the writes it had not answered. */
  async close(): Promise<void> {
    this.closed = true;
    const builder = this.builder;
    if (builder === null) return;
    // what the pending writes are told, rather than the signal that ends the child
    builder.ended = 'the builder was closed (the server is stopping)';
    const child = builder.process;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), this.options.killAfterMs ?? DEFAULT_KILL_AFTER_MS);
    try {
      if (child.exitCode === null && child.signalCode === null) await exited;
    } finally {
      clearTimeout(killer);
    }
    this.end(builder, builder.ended);
  }

  private start(): Builder {
    const { file, execArgv } = childModule();
    // 'advanced': the small files' bytes travel as binary, not as JSON arrays of numbers
    const child = fork(file, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const builder: Builder = { process: child, pending: new Map(), ended: null };
    this.builder = builder;
    // the settings hold secrets (database password, S3 key): by IPC, never on a visible command line
    child.send({ config: this.config } satisfies BuilderMessage);
    child.on('message', (reply: BuilderReply) => this.settle(builder, reply.id, reply));
    child.on('exit', (code, signal) => {
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      this.end(builder, `the repodata builder process (pid ${child.pid}) ${how}`);
    });
    child.on('error', (err) => {
      this.end(builder, `the repodata builder process failed: ${err.message}`);
      // no longer reachable, so no longer wanted: it must not run on unseen
      child.kill('SIGKILL');
    });
    return builder;
  }

  private settle(builder: Builder, id: number, reply: BuilderReply): void {
    const pending = builder.pending.get(id);
    if (pending === undefined) return;
    builder.pending.delete(id);
    if (builder.pending.size === 0 && builder.ended === null) {
      builder.process.unref();
      builder.process.channel?.unref();
    }
    if ('error' in reply) pending.reject(new Error(`repodata builder: writing ${pending.request.channel}/${pending.request.subdir} failed: ${reply.error}`));
    else pending.resolve(withBuffers(reply.result));
  }

  /** The child is gone (or going): what it owed fails, and the next write starts another. */
  private end(builder: Builder, why: string): void {
    if (builder.ended === null) builder.ended = why;
    if (this.builder === builder) this.builder = null;
    for (const [id, pending] of builder.pending) {
      builder.pending.delete(id);
      pending.reject(new Error(`repodata builder: ${pending.request.channel}/${pending.request.subdir} not written: ${builder.ended}`));
    }
  }
}

/** IPC's structured clone hands Buffers back as plain Uint8Arrays: the publisher keeps Buffers. */
function withBuffers(written: WrittenFullFiles): WrittenFullFiles {
  const bytes = {} as Record<FullFile, Buffer | null>;
  for (const name of FULL_FILES) {
    const b = written.bytes[name] as Uint8Array | null;
    bytes[name] = b === null ? null : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }
  return { ...written, bytes };
}
