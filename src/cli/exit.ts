/** Exit codes of `statusflow` (docs/cli.md): scripts branch on them. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** Failed: the server refused (the error code is printed), could not be reached, or a file could not be read. */
  error: 1,
  /** Wrong usage: unknown command or option, missing argument. */
  usage: 2,
  /** Done, but some items failed or were cancelled (the run of `process --wait`, items of a followed batch). */
  someFailed: 3,
  /** Ctrl-C while following a batch: following stopped, the batch goes on (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/** An error the CLI reports as one line (plus details) and an exit code, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
    /** Extra lines printed under the message (e.g. one per invalid field). */
    readonly lines: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}
