/**
 * Assembles an info dictionary from BEP 9 pieces sent by any number of peers. The expected size comes from
 * a peer's extended handshake (capped by MAX_METADATA_SIZE), so the buffer is allocated once and bounded;
 * every piece must have exactly the length its index implies and `total_size` must equal that size. When
 * the last piece arrives the SHA-1 of the whole must equal the infohash (BEP 9: "the peer MUST verify the
 * info-hash"). On a mismatch the assembler starts over and names every peer that contributed, so the caller
 * can drop them: one of them lied, and without per-piece hashes we cannot tell which.
 */
import { createHash } from 'node:crypto';
import { DecodeError } from '../util/errors.js';
import { bytesEqual } from '../util/bytes.js';
import { MAX_METADATA_SIZE } from './extension.js';
import { METADATA_PIECE_SIZE, metadataPieceCount, metadataPieceLength } from './metadata.js';

export type AssemblerResult =
  /** Stored; `remaining` pieces still missing. */
  | { readonly status: 'accepted'; readonly remaining: number }
  /** We already had this piece; nothing changed. */
  | { readonly status: 'duplicate' }
  /** Every piece arrived and the SHA-1 matches: `info` is the raw info dictionary (owned by the caller). */
  | { readonly status: 'complete'; readonly info: Uint8Array }
  /** Every piece arrived but the hash is wrong; the assembler is reset. */
  | { readonly status: 'hash_mismatch'; readonly contributors: readonly string[] };

export interface MetadataAssemblerOptions {
  /** The 20-byte infohash the dictionary must hash to. */
  readonly infohash: Uint8Array;
  /** The size announced in `metadata_size`, 1..MAX_METADATA_SIZE. */
  readonly metadataSize: number;
}

export class MetadataAssembler {
  readonly size: number;
  readonly pieceCount: number;
  private readonly infohash: Uint8Array;
  private buffer: Uint8Array;
  private readonly received: boolean[];
  /** Who sent each piece, for blame on a hash mismatch. */
  private readonly sender: (string | undefined)[];
  private remaining: number;
  private done = false;

  constructor(options: MetadataAssemblerOptions) {
    const { infohash, metadataSize } = options;
    if (infohash.length !== 20) throw new DecodeError('wire_bad_infohash', 'infohash must be 20 bytes');
    if (!Number.isInteger(metadataSize) || metadataSize < 1 || metadataSize > MAX_METADATA_SIZE) {
      throw new DecodeError('wire_metadata_size', `metadata size ${metadataSize} outside 1..${MAX_METADATA_SIZE}`);
    }
    this.infohash = infohash.slice();
    this.size = metadataSize;
    this.pieceCount = metadataPieceCount(metadataSize);
    this.buffer = new Uint8Array(metadataSize);
    this.received = new Array<boolean>(this.pieceCount).fill(false);
    this.sender = new Array<string | undefined>(this.pieceCount).fill(undefined);
    this.remaining = this.pieceCount;
  }

  /** True once a verified dictionary has been returned. */
  get complete(): boolean {
    return this.done;
  }

  has(piece: number): boolean {
    return this.received[piece] === true;
  }

  /** Indices still missing, lowest first. */
  missing(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.pieceCount; i++) if (!this.received[i]) out.push(i);
    return out;
  }

  /** The lowest missing piece not in `inFlight`, or undefined. */
  nextToRequest(inFlight: ReadonlySet<number> = new Set()): number | undefined {
    for (let i = 0; i < this.pieceCount; i++) if (!this.received[i] && !inFlight.has(i)) return i;
    return undefined;
  }

  /**
   * Takes a data piece from `contributor` (any stable peer key). Throws DecodeError when the piece
   * contradicts the expected size (a lie worth dropping the peer for): `wire_metadata_size` when
   * `totalSize` differs, `wire_metadata_bad_piece` for an index out of range, `wire_metadata_bad_length`
   * for a wrong length.
   */
  accept(piece: number, totalSize: number, data: Uint8Array, contributor: string): AssemblerResult {
    if (totalSize !== this.size) {
      throw new DecodeError('wire_metadata_size', `total_size ${totalSize}, expected ${this.size}`);
    }
    const expected = metadataPieceLength(this.size, piece);
    if (expected === undefined) throw new DecodeError('wire_metadata_bad_piece', `piece ${piece} of ${this.pieceCount}`);
    if (data.length !== expected) {
      throw new DecodeError('wire_metadata_bad_length', `piece ${piece} of ${data.length} bytes, expected ${expected}`);
    }
    if (this.done || this.received[piece]) return { status: 'duplicate' };
    this.buffer.set(data, piece * METADATA_PIECE_SIZE);
    this.received[piece] = true;
    this.sender[piece] = contributor;
    this.remaining--;
    if (this.remaining > 0) return { status: 'accepted', remaining: this.remaining };

    const digest = new Uint8Array(createHash('sha1').update(this.buffer).digest());
    if (bytesEqual(digest, this.infohash)) {
      this.done = true;
      const info = this.buffer;
      this.buffer = new Uint8Array(0);
      return { status: 'complete', info };
    }
    const contributors = [...new Set(this.sender.filter((s): s is string => s !== undefined))];
    this.received.fill(false);
    this.sender.fill(undefined);
    this.remaining = this.pieceCount;
    return { status: 'hash_mismatch', contributors };
  }
}
