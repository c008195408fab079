/** Where a command writes: stdout for results, stderr for failures and the progress bar (tests pass their own). */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** stderr, for the progress bar (drawn only on a terminal) */
  errStream: NodeJS.WriteStream;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  errStream: process.stderr,
};
