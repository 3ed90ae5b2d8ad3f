/**
 * A bounded cache of open file handles. Opening a file per block would cost two syscalls per 16 KiB; keeping
 * every file of a 10,000-file torrent open would exhaust descriptors. So handles are kept open, least
 * recently used first out, and a handle in use by an operation is never closed under it.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';

/** Enough for the files a swarm touches at once; well under the usual 1024 descriptor limit. */
export const DEFAULT_MAX_OPEN_FILES = 64;

/** `read` never creates anything; `write` creates folders and the file (without truncating) as needed. */
export type HandleMode = 'read' | 'write';

interface Entry {
  mode: HandleMode;
  handle: Promise<FileHandle>;
  users: number;
  /** Dropped from the map while in use: close when the last user leaves. */
  retired: boolean;
}

/** O_CREAT without O_TRUNC: open for positional writes and keep whatever is already there. */
const WRITE_FLAGS = constants.O_RDWR | constants.O_CREAT;

export class FileHandleCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxOpen: number = DEFAULT_MAX_OPEN_FILES) {}

  /** Runs `fn` with an open handle for `path`. Errors from opening propagate as Node fs errors. */
  async use<T>(path: string, mode: HandleMode, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    const entry = this.acquire(path, mode);
    try {
      const fh = await entry.handle;
      return await fn(fh);
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) void closeQuietly(entry.handle);
      // The bound may have been exceeded while every handle was busy; shrink back now one is idle.
      else if (this.entries.size > this.maxOpen) this.evict();
    }
  }

  private acquire(path: string, mode: HandleMode): Entry {
    let entry = this.entries.get(path);
    if (entry !== undefined && mode === 'write' && entry.mode === 'read') {
      // A read-only handle cannot serve writes: retire it and open a read-write one.
      void this.retire(path, entry);
      entry = undefined;
    }
    if (entry === undefined) {
      entry = { mode, handle: openHandle(path, mode), users: 0, retired: false };
      const created = entry;
      // A failed open must not stay cached, or the file could never be retried.
      created.handle.catch(() => {
        if (this.entries.get(path) === created) this.entries.delete(path);
      });
      this.entries.set(path, entry);
    } else {
      // Map order is the LRU order: move to the back.
      this.entries.delete(path);
      this.entries.set(path, entry);
    }
    // Count the user before evicting, so the entry just opened is never the one retired.
    entry.users++;
    this.evict();
    return entry;
  }

  /** Drops an entry; closes it now if idle (returning that promise), else when its last user leaves. */
  private retire(path: string, entry: Entry): Promise<void> {
    this.entries.delete(path);
    entry.retired = true;
    return entry.users === 0 ? closeQuietly(entry.handle) : Promise.resolve();
  }

  private evict(): void {
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= this.maxOpen) return;
      if (entry.users === 0) void this.retire(path, entry);
    }
  }

  /** Number of cached handles (for tests and stats). */
  get size(): number {
    return this.entries.size;
  }

  /** Closes every handle; operations still running finish on theirs, which close when they end. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.entries].map(([path, entry]) => this.retire(path, entry)));
  }
}

async function openHandle(path: string, mode: HandleMode): Promise<FileHandle> {
  if (mode === 'read') return open(path, 'r');
  await mkdir(dirname(path), { recursive: true });
  return open(path, WRITE_FLAGS, 0o666);
}

async function closeQuietly(handle: Promise<FileHandle>): Promise<void> {
  try {
    await (await handle).close();
  } catch {
    // Already failed to open, or already closed: nothing to release.
  }
}
