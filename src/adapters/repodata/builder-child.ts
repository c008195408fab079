/**
 * The repodata builder process (builder-process.ts starts it): writes the full files of large
 * subdirs with LocalFullFiles on a database connection and blob store of its own, at nice 10 so
 * the server's requests come first. Its first message is its configuration; then each request is
 * answered by id, several at once when several subdirs are due. It lives as long as its server:
 * when the IPC channel closes (the server exited or was killed) it exits too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { LocalFullFiles } from '../../core/channel/full-files.ts';
import { openBlobs, openStore } from '../cli/backends.ts';
import type { BuilderConfig, BuilderMessage, BuilderReply } from './builder-process.ts';

const NICE = 10;

/**
 * On Linux a nice value belongs to a thread: the main thread's is set first, so threads started
 * later (libuv's pool, the zstd worker) inherit it, then those V8 already started are set one by one.
 */
function lowerPriority(): void {
  try {
    os.setPriority(0, NICE);
  } catch {
    return; // not permitted or not supported: the builder still works, only without the lower priority
  }
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return; // no /proc: not Linux, where the process has one priority
  }
  for (const tid of tasks) {
    try {
      os.setPriority(Number(tid), NICE);
    } catch {
      // a thread that ended meanwhile
    }
  }
}

function reply(message: BuilderReply): void {
  // the server may be gone already: disconnect ends this process
  if (process.connected) process.send!(message);
}

function fatal(what: string, err: unknown): never {
  process.stderr.write(`provena repodata builder: ${what}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

if (process.send === undefined) fatal('not started by provena serve', 'no IPC channel');
lowerPriority();
process.on('disconnect', () => process.exit(0));

let writer: Promise<LocalFullFiles> | null = null;

async function open(config: BuilderConfig): Promise<LocalFullFiles> {
  // the server migrated the database before starting this process: opening finds nothing to do
  const store = await openStore(config.settings, config.dataDir);
  const blobs = await openBlobs(config.settings, config.dataDir);
  return new LocalFullFiles(store, blobs, config.spoolDir);
}

process.on('message', (message: BuilderMessage) => {
  if ('config' in message) {
    writer = open(message.config);
    writer.catch((err) => fatal('cannot open the database or blob store', err));
    return;
  }
  const { id, request } = message;
  if (writer === null) return reply({ id, error: 'the builder received a request before its configuration' });
  writer
    .then((w) => w.write(request))
    .then(
      (result) => reply({ id, result }),
      (err) => reply({ id, error: err instanceof Error ? err.message : String(err) }),
    );
});
