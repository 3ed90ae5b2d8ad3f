/**
 * Command output. With --json every line on stdout is one JSON object with an `event` field (CLI.md);
 * otherwise human text. Diagnostics go to stderr so stdout stays parseable.
 */
export interface OutputSink {
  write(line: string): void;
}

export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: OutputSink = { write: (s) => process.stdout.write(s) },
    private readonly stderr: OutputSink = { write: (s) => process.stderr.write(s) },
  ) {}

  /** A structured event: printed as JSON with --json, else rendered by `human` (if given). */
  event(event: string, fields: Record<string, unknown>, human?: string): void {
    if (this.json) this.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
    else if (human !== undefined) this.stdout.write(human + '\n');
  }

  /** Human-only text (never printed with --json). */
  info(line: string): void {
    if (!this.json) this.stdout.write(line + '\n');
  }

  /** A failure: the JSON `error` event, or one clear line on stderr. */
  error(code: string, message: string): void {
    if (this.json) this.stdout.write(JSON.stringify({ event: 'error', code, message }) + '\n');
    else this.stderr.write(`dht-node: ${message}\n`);
  }

  /** A warning on stderr, in both modes. */
  warn(message: string): void {
    this.stderr.write(`dht-node: warning: ${message}\n`);
  }
}
