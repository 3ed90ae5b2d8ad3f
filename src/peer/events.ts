/** The typed events a PeerConnection emits, and the hooks it calls back into. */
import type { Handshake } from '../wire/handshake.js';
import type { ExtendedHandshake } from '../wire/extension.js';
import type { MetadataMessage } from '../wire/metadata.js';
import type { BlockRef } from '../wire/messages.js';
import type { Bitfield } from './bitfield.js';

/** Why a connection ended. `violation` is true when the peer broke the protocol (raise its ban score). */
export interface CloseReason {
  readonly code: string;
  readonly message: string;
  readonly violation: boolean;
  /** Our requests that were still out; the picker should re-assign them. */
  readonly outstanding: readonly BlockRef[];
}

/**
 * A block that answered one of our requests. `block` is a view of the socket's read buffer, which is filled
 * again once the event returns: copy it during the event to keep it.
 */
export interface ReceivedBlock {
  readonly index: number;
  readonly begin: number;
  readonly block: Uint8Array;
  /** True when the request had already timed out (the picker may have re-assigned it). */
  readonly late: boolean;
}

export interface PeerConnectionEvents {
  /** The peer's handshake was accepted (infohash matches or was accepted by acceptInfohash). */
  handshake: [Handshake];
  /** A BEP 10 handshake (may come more than once). */
  'extended-handshake': [ExtendedHandshake];
  /** The peer choked us; `dropped` are our requests it discarded (BEP 3). */
  choke: [dropped: readonly BlockRef[]];
  unchoke: [];
  interested: [];
  'not-interested': [];
  /** A `have` (only once the piece count is known; earlier ones are folded into the bitfield). */
  have: [index: number];
  /** The peer's full bitfield, validated against the piece count (at receipt, or at setPieceCount). */
  bitfield: [Bitfield];
  piece: [ReceivedBlock];
  /** A request from the peer was queued for serving. */
  request: [BlockRef];
  /** Our request got no answer within the timeout; the block may be asked of another peer. */
  'request-timeout': [BlockRef];
  /** Room for `free` more requests (after unchoke, a block, a timeout or a depth change). */
  slots: [free: number];
  /** No block for the snub timeout while unchoked with requests out. */
  snubbed: [];
  /** BEP 5: the peer's DHT port. */
  port: [port: number];
  /** A BEP 9 message on our ut_metadata id. Throwing a DecodeError from a listener counts as a violation. */
  metadata: [MetadataMessage];
  /** A BEP 10 message for another extension we advertised. */
  extended: [name: string, payload: Uint8Array];
  /** The peer broke the protocol; `close` follows with `violation: true`. */
  violation: [code: string, message: string];
  close: [CloseReason];
}

export interface PeerConnectionHooks {
  /** Receiver side: whether we serve this infohash. Absent = accept only options.infohash. */
  acceptInfohash?(infohash: Uint8Array): boolean;
  /** Whether a peer's request names a block we have and announced (index, begin+length within the piece). */
  validateRequest?(ref: BlockRef): boolean;
  /**
   * Data for a block we agreed to serve; undefined when it cannot be served after all. Return it directly
   * when it is at hand (blocks given synchronously leave together in one write); a promise when it is slow
   * (disk, upload rate limiting): the connection serves in order and waits for the stream to drain.
   */
  readBlock?(ref: BlockRef): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /**
   * The connection is done with bytes `readBlock` gave: the stream has taken them (the write completed),
   * or they were dropped (a cancel or a choke while they were read). Their buffer may be reused.
   */
  releaseBlock?(data: Uint8Array): void;
}

/** Counters for stats() and the choker. Payload bytes count only `piece` block bytes. */
export interface PeerConnectionStats {
  bytesDownloaded: number;
  bytesUploaded: number;
  downloadRate: number;
  uploadRate: number;
  requestsOut: number;
  requestsQueued: number;
  pipelineDepth: number;
  unsolicitedBlocks: number;
  lateBlocks: number;
  requestTimeouts: number;
  requestsRefused: number;
  requestsDroppedFull: number;
  requestsWhileChoked: number;
  ignoredMessages: number;
  keepAlivesSent: number;
  metadataRequestsDropped: number;
}
