/**
 * The error base class. Every error we raise has a stable `code` that callers branch on (never the message
 * text) and an optional `cause`.
 */
export class DhtNodeError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input from outside (network, disk, user) that does not decode. `code` names what was wrong. */
export class DecodeError extends DhtNodeError {}

/** Narrowing helper for catch blocks. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
