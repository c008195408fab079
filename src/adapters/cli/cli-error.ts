/**
 * A CLI failure: one line for people, and the exit code scripts rely on (README, "Exit codes"):
 * 1 the server or a check refused, 2 usage or input error, 3 network error.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 | 3,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, 2);
