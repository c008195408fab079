// Helpers for the transparency-log tests against the real server: the CLI as a child process, the
// log's key and checkpoint as a client sees them, and small real packages.
import { type Checkpoint, openCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { noteVerifier } from '../../src/core/tlog/key-ring.ts';
import type { NoteVerifier } from '../../src/core/tlog/note.ts';
import { makePackage } from '../support/package-factory.ts';
export { provena, type CliResult } from '../support/cli.ts';



export interface ServedLog {
  keyText: string;
  verifier: NoteVerifier;
  origin: string;
}

export async function servedLog(server: { url: string }): Promise<ServedLog> {
  const keyText = (await (await fetch(`${server.url}/log/key`)).text()).trim();
  return { keyText, verifier: noteVerifier(keyText), origin: keyText.split('+')[0] };
}

/** The served checkpoint, verified with the log's key. */
export async function signedCheckpoint(server: { url: string }, log: ServedLog): Promise<{ note: string; checkpoint: Checkpoint }> {
  const note = await (await fetch(`${server.url}/log/checkpoint`)).text();
  return { note, checkpoint: openCheckpoint(note, [log.verifier], log.origin).checkpoint };
}

/**
 * Entries nobody waits for (removals, channel changes) are signed within the batch interval; this
 * polls for that, with a generous bound so a slow machine fails loudly instead of hanging.
 */
export async function waitForLogSize(server: { url: string }, log: ServedLog, size: number): Promise<Checkpoint> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { checkpoint } = await signedCheckpoint(server, log);
    if (checkpoint.size >= size) return checkpoint;
    if (Date.now() > deadline) throw new Error(`the log stayed at size ${checkpoint.size}, expected ${size}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function smallPackage(name: string, format: '.conda' | '.tar.bz2' = '.conda') {
  return makePackage({ name, version: '1.0', build: '0', subdir: 'noarch', noarch: 'generic', format, files: { [`share/${name}.txt`]: name } });
}
