/**
 * One torrent's swarm: it connects peers (PeerConnection over any Duplex), keeps availability, asks the
 * picker what to request, writes and verifies pieces in storage, announces them with `have`, runs the
 * choker on the clock, paces both directions through rate limiters, and bans peers that send bad data.
 *
 * Peers arrive through `addPeer(endpoint)` (any source: --peer, DHT, trackers; queued, bounded, paced and
 * retried with backoff by PeerQueue) and through `acceptInbound(stream)` (a TCP listener). The session owns
 * no sockets: `deps.dial` opens a stream. Its state is inspectable with `progress()` and `stats()`.
 *
 * The parts with a life of their own live beside it (dialer, peer queue, piece writer and blame, picker,
 * choker, limiters); what stays here is the wiring of one connection's events to them, which reads best in
 * one place, hence a file somewhat past 400 lines.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import type { Duplex } from 'node:stream';
import { PeerConnection } from '../peer/peer-connection.js';
import type { BlockRef } from '../wire/messages.js';
import { generatePeerId } from '../wire/handshake.js';
import type { TimerHandle } from '../util/clock.js';
import { bytesEqual, compareBytes, toHex } from '../util/bytes.js';
import { Availability } from './availability.js';
import { BAN_STRIKES, BanList, type PeerIdentity } from './ban-list.js';
import { Bitfield } from './bitfield.js';
import { chokeRound, CHOKE_INTERVAL_MS, INITIAL_CHOKER_STATE, LIMITED_UPLOAD_SLOTS, REGULAR_SLOTS, type ChokerState } from './choker.js';
import { Dialer, DIAL_SPACING_MS, MAX_CONNECTING } from './dialer.js';
import { PeerQueue, type PeerEndpoint } from './peer-queue.js';
import { MAX_PEERS, type SessionEvents, type SessionInfo, type SessionProgress, type SessionStats, type TorrentSessionDeps, type TorrentSessionOptions } from './session-types.js';
import { PiecePicker } from './picker.js';
import { PieceWriter } from './piece-writer.js';
import { BlockSupplier } from './block-supplier.js';
import { READ_CACHE_BYTES } from './piece-read-cache.js';
import { RateLimiter } from './rate-limiter.js';
import { SuperSeeder } from './super-seed.js';

export { MAX_PEERS } from './session-types.js';
export type { SessionEvents, SessionInfo, SessionProgress, SessionStats, TorrentSessionDeps, TorrentSessionOptions } from './session-types.js';

interface PeerState {
  readonly key: string;
  readonly conn: PeerConnection;
  readonly outbound: boolean;
  /** The address we dialled (outbound only): released to the queue when the connection ends. */
  readonly endpoint: PeerEndpoint | undefined;
  readonly identity: PeerIdentity;
  ready: boolean;
  connectedAt: number;
  filling: boolean;
}

export class TorrentSession extends EventEmitter<SessionEvents> {
  readonly peerId: Uint8Array;
  readonly info: SessionInfo;
  private readonly deps: TorrentSessionDeps;
  private readonly opts: Required<Omit<TorrentSessionOptions, 'peerId' | 'listenPort' | 'peerOptions' | 'info'>> & Pick<TorrentSessionOptions, 'listenPort' | 'peerOptions'>;
  private readonly picker: PiecePicker;
  private readonly availability: Availability;
  private readonly bans: BanList;
  private readonly writer: PieceWriter;
  /** Pieces read whole for serving their blocks. */
  private readonly supplier: BlockSupplier;
  private readonly queue = new PeerQueue();
  private readonly upLimiter: RateLimiter;
  private readonly downLimiter: RateLimiter;
  private readonly peers = new Map<string, PeerState>();
  private readonly abort = new AbortController();
  private readonly schedule: (fn: () => void, ms: number) => TimerHandle;
  private chokerState: ChokerState = INITIAL_CHOKER_STATE;
  /** Set when we started as a seed under an upload limit (see super-seed.ts and `superSeed`). */
  private superSeeder: SuperSeeder | undefined;
  private chokeTimer: TimerHandle | undefined;
  private readonly dialer: Dialer;
  private nextKey = 1;
  private bytesHave = 0;
  private started = false;
  private closed = false;
  private readonly counters = { downloaded: 0, uploaded: 0, hashFailures: 0, inboundRefused: 0, violations: 0 };

  constructor(deps: TorrentSessionDeps, options: TorrentSessionOptions) {
    super();
    this.deps = deps;
    this.info = options.info;
    this.peerId = options.peerId ?? generatePeerId(deps.random);
    this.opts = {
      uploadLimit: options.uploadLimit ?? 0,
      downloadLimit: options.downloadLimit ?? 0,
      maxPeers: options.maxPeers ?? MAX_PEERS,
      maxConnecting: options.maxConnecting ?? MAX_CONNECTING,
      dialSpacingMs: options.dialSpacingMs ?? DIAL_SPACING_MS,
      chokeIntervalMs: options.chokeIntervalMs ?? CHOKE_INTERVAL_MS,
      banStrikes: options.banStrikes ?? BAN_STRIKES,
      leech: options.leech ?? true,
      superSeed: options.superSeed ?? 'auto',
      readCacheBytes: options.readCacheBytes ?? READ_CACHE_BYTES,
      listenPort: options.listenPort,
      peerOptions: options.peerOptions,
    };
    // Each peer may have one upload and one download wait for tokens on this signal (plus the start-up
    // check), so well over Node's default 10 listeners is normal, not a leak.
    setMaxListeners(2 * this.opts.maxPeers + 2, this.abort.signal);
    // Bound reference: keeps the clock's `this` (and is not mistaken for the ambient timer by the lint).
    this.schedule = deps.clock.setTimeout.bind(deps.clock);
    const { pieceCount, pieceLength, totalLength } = this.info;
    this.availability = new Availability(pieceCount);
    this.picker = new PiecePicker({ random: deps.random, availability: this.availability }, { pieceCount, pieceLength, totalLength });
    this.bans = new BanList({ strikes: this.opts.banStrikes });
    this.upLimiter = new RateLimiter({ clock: deps.clock }, { bytesPerSecond: this.opts.uploadLimit });
    this.downLimiter = new RateLimiter({ clock: deps.clock }, { bytesPerSecond: this.opts.downloadLimit });
    this.dialer = new Dialer(
      {
        clock: deps.clock, log: deps.log, queue: this.queue, dial: deps.dial,
        hasRoom: (connecting) => this.started && !this.closed && this.peers.size + connecting < this.opts.maxPeers,
        isBanned: (endpoint) => this.bans.isBanned(endpoint),
        connected: (stream, endpoint) => this.attach(stream, true, endpoint, endpoint.host),
      },
      { maxConnecting: this.opts.maxConnecting, spacingMs: this.opts.dialSpacingMs },
    );
    this.supplier = new BlockSupplier({
      storage: deps.storage, pieceSize: (i) => this.picker.pieceSize(i), limiter: this.upLimiter, signal: this.abort.signal,
      readCacheBytes: this.opts.readCacheBytes,
    });
    this.writer = new PieceWriter({ storage: deps.storage, pieceSize: (i) => this.picker.pieceSize(i) }, {
      verified: (index) => this.onVerified(index),
      failed: (index, senders) => this.onFailed(index, senders),
      proven: (culprits) => culprits.forEach((c) => this.banPeer(c, 'proven to have sent a bad block')),
      fatal: (err) => {
        if (!this.closed) this.emit('error', err);
      },
    });
  }

  /**
   * Checks what storage already holds (the resume check: only pieces that hash correctly count), then
   * starts the choker and dialling. Resolves once the check is done.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const verified = await this.deps.storage.checkExisting({ signal: this.abort.signal });
    for (const index of verified) this.markVerified(index);
    const { superSeed } = this.opts;
    if (this.picker.isComplete() && (superSeed === true || (superSeed === 'auto' && this.opts.uploadLimit > 0))) {
      this.superSeeder = new SuperSeeder(
        { random: this.deps.random, availability: this.availability },
        { pieceCount: this.info.pieceCount, pieceSize: (i) => this.picker.pieceSize(i) },
      );
    }
    this.chokeTimer = this.schedule(() => this.chokeTick(), this.opts.chokeIntervalMs);
    this.dialer.pump();
    if (this.picker.isComplete()) this.emit('complete');
  }

  /** True when every piece is verified. */
  isComplete(): boolean {
    return this.picker.isComplete();
  }

  /** Queues a peer address to connect to (from --peer, the DHT, a tracker...). False if refused. */
  addPeer(endpoint: PeerEndpoint): boolean {
    if (this.closed || this.bans.isBanned(endpoint)) return false;
    const r = this.queue.add(endpoint, this.deps.clock.now());
    if (r === 'queued') this.dialer.pump();
    return r === 'queued';
  }

  /** Takes an inbound connection (from a TCP listener). */
  acceptInbound(stream: Duplex, remote: PeerEndpoint): void {
    if (this.closed || !this.started || this.bans.isBanned({ host: remote.host }) || this.peers.size >= this.opts.maxPeers) {
      this.counters.inboundRefused++;
      stream.destroy();
      return;
    }
    this.attach(stream, false, undefined, remote.host);
  }

  progress(): SessionProgress {
    let down = 0;
    let up = 0;
    let peers = 0;
    for (const p of this.peers.values()) {
      if (!p.ready) continue;
      peers++;
      down += p.conn.downloadRate();
      up += p.conn.uploadRate();
    }
    return { have: this.picker.verified.count(), pieces: this.info.pieceCount, bytesHave: this.bytesHave, bytesTotal: this.info.totalLength, down, up, peers };
  }

  stats(): SessionStats {
    let peers = 0;
    for (const p of this.peers.values()) if (p.ready) peers++;
    const { downloaded, hashFailures, inboundRefused, violations } = this.counters;
    // Uploaded payload as the connections counted it when written (blocks cancelled while waiting for
    // the limiter or the disk are not counted): closed connections' totals plus the live ones'.
    let uploaded = this.counters.uploaded;
    for (const p of this.peers.values()) uploaded += p.conn.stats().bytesUploaded;
    return { uploaded, downloaded, peers, hashFailures, bans: this.bans.size, dialFailures: this.dialer.failures, inboundRefused, violations, unchoked: this.unchokedCount() };
  }

  /** Closes every connection and stops the timers; waits for writes under way. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort(new Error('session closed'));
    if (this.chokeTimer !== undefined) this.deps.clock.clearTimeout(this.chokeTimer);
    this.dialer.stop();
    for (const p of [...this.peers.values()]) p.conn.close('session_closed', 'the session is closing');
    await this.writer.stop();
  }

  // ---- connections ----

  private attach(stream: Duplex, outbound: boolean, endpoint: PeerEndpoint | undefined, host: string): void {
    const key = `p${this.nextKey++}`;
    const { storage } = this.deps;
    const conn = new PeerConnection(
      {
        clock: this.deps.clock,
        random: this.deps.random,
        log: this.deps.log,
        stream,
        hooks: {
          acceptInfohash: (h) => bytesEqual(h, this.info.infoHash),
          validateRequest: (ref) => storage.have(ref.index) && ref.begin + ref.length <= this.picker.pieceSize(ref.index),
          readBlock: (ref): Uint8Array | undefined | Promise<Uint8Array | undefined> =>
            this.supplier.block(peer.conn, ref, () => this.servedToSuperSeeder(peer, ref)),
          releaseBlock: (data) => this.supplier.release(data),
        },
      },
      {
        ...this.opts.peerOptions,
        role: outbound ? 'initiator' : 'receiver',
        peerId: this.peerId,
        infohash: outbound ? this.info.infoHash : undefined,
        pieceCount: this.info.pieceCount,
        listenPort: this.opts.listenPort,
        metadataSize: this.info.infoBytes.length,
      },
    );
    const peer: PeerState = {
      key, conn, outbound, endpoint, identity: { host, port: endpoint?.port }, ready: false, connectedAt: this.deps.clock.now(), filling: false,
    };
    this.peers.set(key, peer);
    conn.on('handshake', (h) => this.onHandshake(peer, h.peerId));
    conn.on('bitfield', (bf) => {
      this.availability.setPieces(key, Bitfield.fromBytes(bf.toBytes(), this.info.pieceCount));
      this.updateInterest(peer);
      this.announce(peer, this.superSeeder?.peerPiecesChanged(key));
    });
    conn.on('have', (index) => {
      if (this.availability.have(key, index) && !this.picker.verified.has(index) && this.opts.leech) {
        conn.interested();
        this.fill(peer);
      }
      this.closeIfBothSeeds(peer);
      this.announce(peer, this.superSeeder?.peerPiecesChanged(key));
    });
    conn.on('port', (dhtPort) => this.emit('dht-node', host, dhtPort));
    // BEP 9: we have the info dictionary, so magnet-link peers can fetch it from us.
    conn.on('metadata', (m) => {
      if (m.type === 'request') conn.serveMetadata(this.info.infoBytes, m.piece);
    });
    conn.on('unchoke', () => this.fill(peer));
    conn.on('slots', () => this.fill(peer));
    conn.on('choke', (dropped) => dropped.forEach((r) => this.picker.release(key, r)));
    conn.on('request-timeout', (r) => this.picker.release(key, r));
    conn.on('piece', (b) => this.onBlock(peer, b.index, b.begin, b.block));
    conn.on('interested', () => {
      // A free upload slot is used at once instead of at the next choke round (up to 10 s later).
      if (this.superSeeder !== undefined || this.unchokedCount() < this.regularSlots(0) + 1) conn.unchoke();
    });
    conn.on('violation', (code) => {
      this.counters.violations++;
      if (this.bans.strike(peer.identity)) this.banPeer(peer.identity, `protocol violation ${code}`);
    });
    conn.on('close', (reason) => this.onClose(peer, reason.code, reason.violation));
    conn.start();
  }

  private onHandshake(peer: PeerState, remoteId: Uint8Array): void {
    peer.identity.peerId = toHex(remoteId);
    if (this.bans.isBanned(peer.identity)) return peer.conn.close('banned', 'peer is banned');
    // The same peer connected twice (both sides dialled): keep the connection whose initiator has the
    // smaller peer id, a rule both ends compute alike, so exactly one of the two survives.
    for (const other of this.peers.values()) {
      if (other === peer || !other.ready || other.identity.peerId !== peer.identity.peerId) continue;
      const weInitiateWins = compareBytes(this.peerId, remoteId) < 0;
      const keepNew = peer.outbound !== other.outbound && peer.outbound === weInitiateWins;
      (keepNew ? other : peer).conn.close('duplicate_peer', 'already connected to this peer');
      if (!keepNew) return;
    }
    peer.ready = true;
    peer.connectedAt = this.deps.clock.now();
    if (peer.endpoint !== undefined) this.queue.succeeded(peer.endpoint);
    this.availability.addPeer(peer.key);
    // BEP 3: the bitfield may be omitted when we have nothing. A super-seeder shows pieces one by one instead.
    if (this.superSeeder !== undefined) this.announce(peer, this.superSeeder.addPeer(peer.key));
    else if (this.picker.verified.count() > 0) peer.conn.bitfield(this.picker.verified.toBytes());
    this.emit('peer', peer.identity);
  }

  private onClose(peer: PeerState, code: string, violation: boolean): void {
    this.peers.delete(peer.key);
    this.counters.uploaded += peer.conn.stats().bytesUploaded;
    this.picker.releasePeer(peer.key);
    this.availability.removePeer(peer.key);
    this.superSeeder?.removePeer(peer.key);
    if (peer.endpoint !== undefined) {
      const retry = !this.closed && !violation && !this.picker.isComplete() && code !== 'duplicate_peer' && code !== 'banned' && code !== 'self_connection';
      this.queue.release(peer.endpoint, this.deps.clock.now(), retry);
    }
    this.dialer.pump();
    for (const p of this.peers.values()) this.fill(p);
  }

  /** Sends `have` for pieces the super-seeder shows this peer. */
  private announce(peer: PeerState, pieces: number[] | undefined): void {
    for (const i of pieces ?? []) peer.conn.have(i);
  }

  private closeIfBothSeeds(peer: PeerState): void {
    if (this.picker.isComplete() && this.availability.peerPieces(peer.key)?.isComplete() === true) {
      peer.conn.close('both_seeds', 'both sides have every piece');
    }
  }

  private updateInterest(peer: PeerState): void {
    const pieces = this.availability.peerPieces(peer.key);
    if (pieces === undefined) return;
    let wanted = false;
    for (const i of pieces.indices()) {
      if (!this.picker.verified.has(i)) {
        wanted = true;
        break;
      }
    }
    if (wanted && this.opts.leech) {
      peer.conn.interested();
      this.fill(peer);
    } else {
      peer.conn.notInterested();
      this.closeIfBothSeeds(peer);
    }
  }

  private unchokedCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.ready && !p.conn.amChoking) n++;
    return n;
  }

  /**
   * Regular upload slots: every ready peer when super-seeding; LIMITED_UPLOAD_SLOTS for a leecher whose
   * upload is limited (its capacity is the known bottleneck); otherwise BEP 3's four.
   */
  private regularSlots(readyCount: number): number {
    if (this.superSeeder !== undefined) return readyCount;
    return this.opts.uploadLimit > 0 && !this.picker.isComplete() ? LIMITED_UPLOAD_SLOTS : REGULAR_SLOTS;
  }

  private chokeTick(): void {
    this.chokeTimer = undefined;
    if (this.closed) return;
    const ready = [...this.peers.values()].filter((p) => p.ready);
    const round = chokeRound(
      ready.map((p) => ({
        key: p.key, interested: p.conn.peerInterested, downloadRate: p.conn.downloadRate(), uploadRate: p.conn.uploadRate(),
        snubbed: p.conn.snubbed, connectedAt: p.connectedAt,
      })),
      this.deps.clock.now(),
      this.deps.random,
      this.chokerState,
      // A super-seeder under its upload limit serves every interested peer: the limit, not a slot count,
      // caps its rate, and each peer gets its own pieces to trade.
      { seeding: this.picker.isComplete(), slots: this.regularSlots(ready.length) },
    );
    this.chokerState = round.state;
    for (const p of ready) {
      if (round.unchoke.has(p.key)) p.conn.unchoke();
      else p.conn.choke();
    }
    this.chokeTimer = this.schedule(() => this.chokeTick(), this.opts.chokeIntervalMs);
  }

  // ---- downloading ----

  /** Fills the peer's free request slots from the picker, paced by the download limiter. */
  private fill(peer: PeerState): void {
    if (peer.filling || !peer.ready || this.closed || this.writer.failed) return;
    const { conn } = peer;
    if (conn.peerChoking || !conn.amInterested || conn.freeSlots <= 0) return;
    const pieces = this.availability.peerPieces(peer.key);
    if (pieces === undefined) return;
    if (this.downLimiter.bytesPerSecond === 0) {
      for (const r of this.picker.pick(peer.key, pieces, conn.freeSlots)) if (!conn.request(r)) this.picker.release(peer.key, r);
      return;
    }
    peer.filling = true;
    void (async () => {
      try {
        while (!conn.isClosed && conn.freeSlots > 0) {
          const [r] = this.picker.pick(peer.key, pieces, 1);
          if (r === undefined) break;
          try {
            await this.downLimiter.take(r.length, this.abort.signal);
          } catch {
            this.picker.release(peer.key, r);
            break;
          }
          if (!conn.request(r)) {
            this.picker.release(peer.key, r);
            break;
          }
        }
      } finally {
        peer.filling = false;
      }
    })();
  }

  private onBlock(peer: PeerState, index: number, begin: number, block: Uint8Array): void {
    this.counters.downloaded += block.length;
    const out = this.picker.blockReceived(peer.key, index, begin, block.length);
    for (const k of out.cancel) this.peers.get(k)?.conn.cancel({ index, begin, length: block.length });
    // The writer copies the block into its piece buffer at once, so the receive buffer's view is enough.
    if (out.status === 'new') this.writer.accept(index, begin, block, peer.identity, out.pieceComplete);
    this.fill(peer);
  }

  private onFailed(index: number, senders: PeerIdentity[]): void {
    if (this.closed) return;
    this.counters.hashFailures++;
    this.picker.pieceFailed(index);
    this.deps.log.info('piece failed its hash check', { index, senders: senders.length });
    // Only a sole sender is surely at fault; shared failures are settled by PieceBlame once the piece verifies.
    if (senders.length === 1 && this.bans.strike(senders[0] as PeerIdentity)) this.banPeer(senders[0] as PeerIdentity, 'sent bad pieces');
    for (const p of this.peers.values()) this.fill(p);
  }

  private onVerified(index: number): void {
    if (this.closed) return;
    const cancelled = this.markVerified(index);
    for (const k of cancelled) {
      const conn = this.peers.get(k)?.conn;
      for (const r of conn?.outstanding() ?? []) if (r.index === index) conn?.cancel(r);
    }
    for (const p of this.peers.values()) if (p.ready) p.conn.have(index);
    this.emit('piece', index);
    for (const p of this.peers.values()) if (p.ready && p.conn.amInterested) this.updateInterest(p);
    if (this.picker.isComplete()) {
      this.emit('complete');
      for (const p of [...this.peers.values()]) if (p.ready) this.updateInterest(p);
    }
  }

  private markVerified(index: number): string[] {
    if (this.picker.verified.has(index)) return [];
    this.bytesHave += this.picker.pieceSize(index);
    return this.picker.pieceVerified(index);
  }

  private banPeer(who: PeerIdentity, reason: string): void {
    this.bans.ban(who);
    this.deps.log.info('peer banned', { host: who.host, port: who.port, peerId: who.peerId, reason });
    for (const p of [...this.peers.values()]) {
      if (this.bans.isBanned(p.identity)) {
        if (p.endpoint !== undefined) this.queue.forget(p.endpoint);
        p.conn.close('banned', reason);
      }
    }
    this.emit('banned', who, reason);
  }

  // ---- uploading ----

  /**
   * A block is about to go out: the super-seeder may show the peer its next piece. The `have` is sent after
   * the current hook returns (a microtask), not in the middle of the connection's batch of blocks.
   */
  private servedToSuperSeeder(peer: PeerState, ref: BlockRef): void {
    const next = this.superSeeder?.served(peer.key, ref.index, ref.length);
    if (next !== undefined && next.length > 0) queueMicrotask(() => this.announce(peer, next));
  }
}
