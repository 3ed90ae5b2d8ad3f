/** Exit codes from ../shared/CLI.md; scripts rely on them. */
export const EXIT = {
  ok: 0,
  /** Failure at run time; the message says which. */
  failure: 1,
  /** Bad usage or bad input: a malformed magnet link, an unreadable torrent. */
  usage: 2,
  /** Gave up: no peers or no metadata before --timeout. */
  gaveUp: 3,
} as const;

/** An error that ends a command with a given exit code and a stable code for the JSON `error` event. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}
