/**
 * One peer connection (BEP 3, with BEP 10 and BEP 9 on top) over an injected byte stream. It owns the
 * protocol state of one peer (choke/interest, the peer's pieces, our request pipeline, its queued requests,
 * rates, keep-alive/idle/snub timers on the Clock) and nothing else: no sockets (the Duplex is handed in),
 * no files (blocks go out as events, block data comes in through hooks.readBlock), no piece picking (the
 * caller calls request() when `slots` says there is room).
 *
 * The parts with state of their own live beside it: Framer, BlockRequests (our requests, the download
 * side), BlockServer (the peer's requests, the upload side), PeerPieces, RateMeter, ExtensionRegistry.
 * What remains here, past the usual 400 lines, is the dispatch of every message kind, the handshake and
 * the public API the session drives, which read best in one place.
 *
 * Violation policy (docs/wire.md): anything the peer sends that breaks the protocol closes the connection
 * with a `wire_*` code, emits `violation`, and `close` carries `violation: true`. Nothing thrown while
 * handling input escapes the stream callback.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Logger } from '../util/log.js';
import { DecodeError, errorMessage } from '../util/errors.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { checkHandshakePrefix, decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH, type Handshake } from '../wire/handshake.js';
import { Framer, maxFrameLength } from '../wire/framer.js';
import { decodeMessage, encodeMessage, MSG_ID, type BlockRef, type Message } from '../wire/messages.js';
import { decodeExtendedHandshake, encodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, ExtensionRegistry, CLIENT_VERSION, type ExtendedHandshake } from '../wire/extension.js';
import { decodeMetadataMessage, encodeMetadataRequest, serveMetadataPiece } from '../wire/metadata.js';
import type { Bitfield } from './bitfield.js';
import { PeerPieces } from './peer-pieces.js';
import { RateMeter } from './rate-meter.js';
import { BlockRequests } from './block-requests.js';
import { BlockServer } from './block-server.js';
import { MAX_METADATA_BACKLOG, MAX_TIMED_OUT_REMEMBERED, resolveOptions, TICK_MS, type PeerConnectionOptions, type ResolvedOptions } from './options.js';
import type { PeerConnectionEvents, PeerConnectionHooks, PeerConnectionStats } from './events.js';

export interface PeerConnectionDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  /** The byte stream to the peer (a TCP socket in production, an in-memory pair in tests). */
  readonly stream: Duplex;
  readonly hooks?: PeerConnectionHooks;
}

export class PeerConnection extends EventEmitter<PeerConnectionEvents> {
  readonly extensions: ExtensionRegistry;

  /** Choke/interest state; BEP 3: connections start choked and not interested on both sides. */
  private readonly st: {
    amChoking: boolean; amInterested: boolean; peerChoking: boolean; peerInterested: boolean;
    remote: Handshake | undefined; peerExtended: ExtendedHandshake | undefined;
  } = { amChoking: true, amInterested: false, peerChoking: true, peerInterested: false, remote: undefined, peerExtended: undefined };
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly stream: Duplex;
  private readonly hooks: PeerConnectionHooks;
  private readonly opts: ResolvedOptions;
  private readonly framer: Framer;
  private readonly requests: BlockRequests;
  private readonly server: BlockServer;
  private readonly up: RateMeter;
  private infohashValue: Uint8Array | undefined;
  private readonly pieces: PeerPieces;
  private sentHandshake = false;
  private handshakeDone = false;
  private sawMessage = false;
  private closed = false;
  private processing = false;
  /** Writes of this turn are being gathered (see write). */
  private corked = false;
  private readonly startedAt: number;
  private lastReceived: number;
  private lastSent: number;
  private tickHandle: TimerHandle | undefined;
  private readonly schedule: (fn: () => void, ms: number) => TimerHandle;
  private readonly counters = {
    ignoredMessages: 0, keepAlivesSent: 0, metadataRequestsDropped: 0,
  };

  constructor(deps: PeerConnectionDeps, options: PeerConnectionOptions) {
    super();
    this.clock = deps.clock;
    this.log = deps.log;
    this.stream = deps.stream;
    this.hooks = deps.hooks ?? {};
    this.opts = resolveOptions(options);
    if (this.opts.role === 'initiator' && this.opts.infohash === undefined) {
      throw new DecodeError('peer_no_infohash', 'an initiating connection needs an infohash');
    }
    // Bound method reference: keeps the clock's `this` and lets the ambient-timer lint (which matches the
    // call text `setTimeout(`) tell this injected clock apart from the global.
    this.schedule = this.clock.setTimeout.bind(this.clock);
    this.infohashValue = this.opts.infohash?.slice();
    this.pieces = new PeerPieces(this.opts.pieceCount);
    this.extensions = new ExtensionRegistry(this.opts.extensionIds);
    this.framer = new Framer(maxFrameLength(this.opts.pieceCount, this.opts.maxBlockLength));
    this.server = new BlockServer(
      {
        stream: this.stream, readBlock: this.hooks.readBlock?.bind(this.hooks), releaseBlock: this.hooks.releaseBlock?.bind(this.hooks),
        validateRequest: this.hooks.validateRequest?.bind(this.hooks),
        onSent: (n) => {
          const t = this.clock.now();
          this.lastSent = t;
          this.up.add(n, t);
        },
        onError: (err) => {
          this.log.warn('serving a block failed', { error: errorMessage(err) });
          this.close('internal_error', `readBlock failed: ${errorMessage(err)}`);
        },
      },
      { capacity: this.opts.maxIncomingRequests },
    );
    const now = this.clock.now();
    this.startedAt = this.lastReceived = this.lastSent = now;
    this.requests = new BlockRequests(
      {
        minDepth: this.opts.minPipelineDepth, maxDepth: this.opts.maxPipelineDepth, targetQueueMs: this.opts.targetQueueMs,
        requestTimeoutMs: this.opts.requestTimeoutMs, snubTimeoutMs: this.opts.snubTimeoutMs, maxTimedOutRemembered: MAX_TIMED_OUT_REMEMBERED,
      },
      now,
    );
    this.up = new RateMeter(now);
  }

  /** Attaches to the stream, sends our handshake if we initiate, and starts the timers. Call once. */
  start(): void {
    this.stream.on('data', (chunk: Uint8Array) => this.onData(chunk));
    this.stream.on('end', () => this.close('remote_closed', 'the peer closed the stream'));
    this.stream.on('close', () => this.close('stream_closed', 'the stream closed'));
    this.stream.on('error', (err: Error) => this.close('stream_error', err.message));
    this.stream.on('drain', () => void this.server.pump());
    if (this.opts.role === 'initiator') this.sendHandshake();
    this.tickHandle = this.schedule(() => this.tick(), TICK_MS);
  }

  /** We refuse to send the peer blocks. */
  get amChoking(): boolean {
    return this.st.amChoking;
  }

  get amInterested(): boolean {
    return this.st.amInterested;
  }

  /** The peer refuses to send us blocks. */
  get peerChoking(): boolean {
    return this.st.peerChoking;
  }

  get peerInterested(): boolean {
    return this.st.peerInterested;
  }

  /** No block for the snub timeout while unchoked with requests out; cleared by the next block. */
  get snubbed(): boolean {
    return this.requests.snubbed;
  }

  /** The peer's handshake, once received. */
  get remote(): Handshake | undefined {
    return this.st.remote;
  }

  /** The peer's latest BEP 10 handshake. */
  get peerExtended(): ExtendedHandshake | undefined {
    return this.st.peerExtended;
  }

  get infohash(): Uint8Array | undefined {
    return this.infohashValue;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get isReady(): boolean {
    return this.handshakeDone && !this.closed;
  }

  /** Target number of requests out, from the current download rate (see RequestPipeline.depth). */
  get pipelineDepth(): number {
    return this.requests.depth(this.clock.now(), this.st.peerExtended?.reqq);
  }

  /** How many requests to send now (in runs: see BlockRequests.free); 0 before the handshake or while choked. */
  get freeSlots(): number {
    if (!this.canRequest()) return 0;
    return this.requests.free(this.clock.now(), this.st.peerExtended?.reqq);
  }

  private canRequest(): boolean {
    return this.handshakeDone && !this.st.peerChoking && !this.closed;
  }

  /** Our requests still out. */
  outstanding(): BlockRef[] {
    return this.requests.list();
  }

  downloadRate(): number {
    return this.requests.rate(this.clock.now());
  }

  uploadRate(): number {
    return this.up.rate(this.clock.now());
  }

  stats(): PeerConnectionStats {
    const now = this.clock.now();
    return {
      ...this.counters, ...this.requests.counters, ...this.server.counters, bytesDownloaded: this.requests.bytesReceived, bytesUploaded: this.up.total,
      downloadRate: this.requests.rate(now), uploadRate: this.up.rate(now), requestsOut: this.requests.size, requestsQueued: this.server.queued, pipelineDepth: this.pipelineDepth,
    };
  }

  /**
   * Sets the piece count once metadata is known: checks a bitfield and haves received earlier (a lie closes
   * the connection), tightens the frame cap, and emits `bitfield` if one was pending.
   */
  setPieceCount(pieceCount: number): void {
    if (this.pieces.pieceCount !== undefined || this.closed) return;
    this.framer.setMaxFrameLength(maxFrameLength(pieceCount, this.opts.maxBlockLength));
    this.guard(() => {
      const field = this.pieces.setPieceCount(pieceCount);
      if (field !== undefined) this.emit('bitfield', field);
    });
  }

  /** The peer's pieces, once the piece count is known and the peer sent a bitfield or a have. */
  get peerBitfield(): Bitfield | undefined {
    return this.pieces.bitfield;
  }

  // ---- sending ----

  choke(): void {
    if (this.st.amChoking || !this.handshakeDone) return;
    this.st.amChoking = true;
    // BEP 3: choking discards the peer's pending requests (no fast extension, so no reject messages).
    this.server.setChoking(true);
    this.sendMessage({ type: 'choke' });
  }

  unchoke(): void {
    if (!this.st.amChoking || !this.handshakeDone) return;
    this.st.amChoking = false;
    this.sendMessage({ type: 'unchoke' });
    this.server.setChoking(false);
  }

  interested(): void {
    if (this.st.amInterested || !this.handshakeDone) return;
    this.st.amInterested = true;
    this.sendMessage({ type: 'interested' });
  }

  notInterested(): void {
    if (!this.st.amInterested || !this.handshakeDone) return;
    this.st.amInterested = false;
    this.sendMessage({ type: 'not-interested' });
  }

  have(index: number): void {
    if (this.handshakeDone) this.sendMessage({ type: 'have', index });
  }

  /** Sends our bitfield; BEP 3 allows it only as the first message after the handshake. */
  bitfield(bits: Uint8Array): void {
    if (this.handshakeDone) this.sendMessage({ type: 'bitfield', bits });
  }

  /** BEP 5: tell the peer our DHT port. */
  sendPort(port: number): void {
    if (this.handshakeDone) this.sendMessage({ type: 'port', port });
  }

  /**
   * Requests a block. Returns false (and sends nothing) before the handshake, while choked, when the
   * pipeline is full, for a block already requested, or for a length over the block cap.
   */
  request(ref: BlockRef): boolean {
    if (!this.canRequest() || ref.length < 1 || ref.length > this.opts.maxBlockLength) return false;
    const now = this.clock.now();
    if (this.requests.room(now, this.st.peerExtended?.reqq) <= 0 || !this.requests.add(ref, now)) return false;
    this.sendMessage({ type: 'request', index: ref.index, begin: ref.begin, length: ref.length });
    return true;
  }

  /** Cancels an outstanding request (e.g. the block arrived from another peer in endgame). */
  cancel(ref: BlockRef): void {
    if (!this.requests.remove(ref)) return;
    this.sendMessage({ type: 'cancel', index: ref.index, begin: ref.begin, length: ref.length });
  }

  /** Sends (or re-sends, e.g. once metadata_size is known) our BEP 10 handshake. */
  sendExtendedHandshake(update: { metadataSize?: number; listenPort?: number } = {}): void {
    if (!this.handshakeDone || !this.opts.extensions || this.st.remote?.extensions !== true) return;
    const payload = encodeExtendedHandshake({
      m: this.extensions.oursAsRecord(), v: CLIENT_VERSION, reqq: this.opts.maxIncomingRequests,
      p: update.listenPort ?? this.opts.listenPort, metadataSize: update.metadataSize ?? this.opts.metadataSize, yourip: this.opts.yourip,
    });
    this.sendMessage({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload });
  }

  /** BEP 9: asks for a metadata piece; false when the peer has not advertised ut_metadata. */
  requestMetadata(piece: number): boolean {
    return this.sendExtension('ut_metadata', encodeMetadataRequest(piece));
  }

  /**
   * BEP 9: answers a metadata request from our info dictionary (a reject when `info` is undefined or the
   * piece is out of range). Returns false without sending when the peer lacks ut_metadata, or when our
   * write buffer to it already holds MAX_METADATA_BACKLOG bytes: a peer that floods requests and never
   * reads must not make us buffer 16 KiB per request (BEP 9 lets us leave a request unanswered).
   */
  serveMetadata(info: Uint8Array | undefined, piece: number): boolean {
    if (this.stream.writableLength >= MAX_METADATA_BACKLOG) {
      this.counters.metadataRequestsDropped++;
      return false;
    }
    return this.sendExtension('ut_metadata', serveMetadataPiece(info, piece));
  }

  /** Sends a BEP 10 message for extension `name` with the id the peer assigned; false if it did not. */
  sendExtension(name: string, payload: Uint8Array): boolean {
    const id = this.extensions.idForOutgoing(name);
    if (id === undefined || !this.handshakeDone) return false;
    this.sendMessage({ type: 'extended', id, payload });
    return true;
  }

  /** Ends the connection (idempotent). `close` is emitted once. */
  close(code = 'closed_locally', message = 'closed by us', violation = false): void {
    if (this.closed) return;
    this.closed = true;
    if (this.tickHandle !== undefined) this.clock.clearTimeout(this.tickHandle);
    this.server.stop();
    const outstanding = this.requests.clear();
    this.stream.destroy();
    this.log.debug('peer connection closed', { code, message, peer: this.st.remote ? toHex(this.st.remote.peerId) : undefined });
    this.emit('close', { code, message, violation, outstanding });
  }

  private sendHandshake(): void {
    if (this.sentHandshake || this.infohashValue === undefined) return;
    this.sentHandshake = true;
    this.write(encodeHandshake({ infohash: this.infohashValue, peerId: this.opts.peerId, extensions: this.opts.extensions, dht: this.opts.dht }));
  }

  private sendMessage(msg: Exclude<Message, { type: 'unknown' }>): void {
    this.write(encodeMessage(msg));
  }

  /**
   * Control messages are small and their number is bounded by our own logic, so they are written without
   * waiting. Everything written in one turn of the event loop (a burst of requests after a block arrives,
   * `have`s after a piece) is corked and leaves in one writev: a syscall per 17-byte request was the
   * leecher's largest single cost on a fast link.
   */
  private write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.lastSent = this.clock.now();
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(this.uncork);
    }
    this.stream.write(bytes);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.stream.uncork();
  };

  // ---- receiving ----

  /** Runs `fn`, turning a DecodeError into a violation and anything else into an internal close. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof DecodeError) this.violation(err.code, err.message);
      else {
        this.log.warn('peer connection handler failed', { error: errorMessage(err) });
        this.close('internal_error', errorMessage(err));
      }
    }
  }

  private violation(code: string, message: string): void {
    if (this.closed) return;
    this.emit('violation', code, message);
    this.close(code, message, true);
  }

  /**
   * `chunk` is only borrowed (the socket may refill it once we return; see Framer): a `piece` block goes
   * out as a view for the listener to copy, everything else that may be kept is copied here first.
   */
  private onData(chunk: Uint8Array): void {
    if (this.closed) return;
    // A write of ours (or a listener's) can make an in-memory peer answer synchronously, re-entering here:
    // the bytes are queued (copied, as the sender may reuse them when we return) and the outer call's loop
    // reads them, so frames stay in order.
    if (this.processing) {
      this.framer.append(chunk.slice());
      return;
    }
    this.framer.append(chunk);
    this.processing = true;
    this.guard(() => {
      if (!this.handshakeDone && !this.readHandshake()) return;
      for (;;) {
        if (this.closed) return;
        const body = this.framer.nextFrame();
        if (body === undefined) return;
        this.lastReceived = this.clock.now();
        const owned = body[0] === MSG_ID.piece ? body : body.slice();
        this.handle(decodeMessage(owned, { pieceCount: this.pieces.pieceCount, maxBlockLength: this.opts.maxBlockLength }));
      }
    });
    this.processing = false;
    if (!this.closed) this.framer.keepUnread();
  }

  /** Consumes the 68-byte handshake when it has arrived; false while waiting or after closing. */
  private readHandshake(): boolean {
    const prefix = this.framer.buffered >= 20 ? 20 : this.framer.buffered;
    const head = new Uint8Array(prefix);
    for (let i = 0; i < prefix; i++) head[i] = this.framer.peekByte(i) as number;
    try {
      checkHandshakePrefix(head);
    } catch (err) {
      // Most often an encrypted (MSE/PE) opening that no MSE responder took first (a listener without the
      // `encryption` option): libtorrent and others fall back to plaintext, so this is not a violation.
      this.close('wire_bad_protocol', `not a plaintext BitTorrent handshake: ${errorMessage(err)}`);
      return false;
    }
    const bytes = this.framer.readExact(HANDSHAKE_LENGTH);
    if (bytes === undefined) return false;
    const h = decodeHandshake(bytes);
    this.lastReceived = this.clock.now();
    if (this.infohashValue === undefined) {
      if (this.hooks.acceptInfohash?.(h.infohash) !== true) {
        this.close('unknown_infohash', `we do not serve ${toHex(h.infohash)}`);
        return false;
      }
      this.infohashValue = h.infohash;
    } else if (!bytesEqual(h.infohash, this.infohashValue)) {
      this.close('infohash_mismatch', `peer sent ${toHex(h.infohash)}`);
      return false;
    }
    if (bytesEqual(h.peerId, this.opts.peerId)) {
      this.close('self_connection', 'connected to ourselves');
      return false;
    }
    this.st.remote = h;
    this.handshakeDone = true;
    this.sendHandshake();
    this.emit('handshake', h);
    if (!this.closed) this.sendExtendedHandshake();
    if (!this.closed && this.opts.dhtPort !== undefined && h.dht) this.sendPort(this.opts.dhtPort);
    return !this.closed;
  }

  private handle(msg: Message): void {
    if (msg.type !== 'keep-alive' && msg.type !== 'extended' && msg.type !== 'bitfield') this.sawMessage = true;
    switch (msg.type) {
      case 'keep-alive':
        return;
      case 'choke': {
        if (this.st.peerChoking) return;
        this.st.peerChoking = true;
        // BEP 3: a choke discards every request we had out.
        const dropped = this.requests.clear();
        this.emit('choke', dropped);
        return;
      }
      case 'unchoke':
        if (!this.st.peerChoking) return;
        this.st.peerChoking = false;
        this.requests.unchoked(this.clock.now());
        this.emit('unchoke');
        this.emitSlots();
        return;
      case 'interested':
        this.st.peerInterested = true;
        this.emit('interested');
        return;
      case 'not-interested':
        this.st.peerInterested = false;
        this.emit('not-interested');
        return;
      case 'have':
        if (this.pieces.onHave(msg.index)) this.emit('have', msg.index);
        return;
      case 'bitfield': {
        // BEP 3: only ever the first message (we let an extended handshake go first, as some clients do).
        const field = this.pieces.onBitfield(msg.bits, this.sawMessage);
        if (field !== undefined) this.emit('bitfield', field);
        return;
      }
      case 'request':
        return this.onRequest(msg);
      case 'piece':
        return this.onPiece(msg.index, msg.begin, msg.block);
      case 'cancel':
        this.server.onCancel(msg);
        return;
      case 'port':
        this.emit('port', msg.port);
        return;
      case 'extended':
        return this.onExtended(msg.id, msg.payload);
      case 'unknown':
        this.counters.ignoredMessages++;
        return;
    }
  }

  private onRequest(ref: BlockRef): void {
    if (this.server.onRequest(ref)) this.emit('request', { index: ref.index, begin: ref.begin, length: ref.length });
  }

  private onPiece(index: number, begin: number, block: Uint8Array): void {
    const arrival = this.requests.received(index, begin, block.length, this.clock.now());
    if (arrival === 'unsolicited') return;
    this.emit('piece', { index, begin, block, late: arrival === 'late' });
    this.emitSlots();
  }

  private onExtended(id: number, payload: Uint8Array): void {
    if (id === EXTENDED_HANDSHAKE_ID) {
      const h = decodeExtendedHandshake(payload);
      this.extensions.update(h);
      this.st.peerExtended = h;
      this.emit('extended-handshake', h);
      this.emitSlots();
      return;
    }
    const name = this.extensions.nameForIncoming(id);
    if (name === undefined) {
      this.counters.ignoredMessages++;
      return;
    }
    if (name === 'ut_metadata') this.emit('metadata', decodeMetadataMessage(payload));
    else this.emit('extended', name, payload);
  }

  private emitSlots(): void {
    const free = this.freeSlots;
    if (free > 0) this.emit('slots', free);
  }

  // ---- timers ----

  private tick(): void {
    this.tickHandle = undefined;
    if (this.closed) return;
    const now = this.clock.now();
    if (!this.handshakeDone && now - this.startedAt >= this.opts.handshakeTimeoutMs) {
      this.close('handshake_timeout', 'no handshake in time');
      return;
    }
    if (now - this.lastReceived >= this.opts.idleTimeoutMs) {
      this.close('idle_timeout', `nothing received for ${now - this.lastReceived} ms`);
      return;
    }
    if (this.handshakeDone && now - this.lastSent >= this.opts.keepAliveIntervalMs) {
      this.counters.keepAlivesSent++;
      this.sendMessage({ type: 'keep-alive' });
    }
    const { snubbedNow, expired } = this.requests.tick(now, this.st.peerChoking);
    if (snubbedNow) this.emit('snubbed');
    for (const o of expired) this.emit('request-timeout', { index: o.index, begin: o.begin, length: o.length });
    if (expired.length > 0) this.emitSlots();
    if (!this.closed) this.tickHandle = this.schedule(() => this.tick(), TICK_MS);
  }
}
