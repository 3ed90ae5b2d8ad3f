/**
 * An in-memory datagram network on a fake clock: each bound address gets a transport; datagrams arrive after
 * a seeded random latency; hosts can be taken down (their datagrams vanish both ways), and a loss rate
 * can be set. Nothing leaves the process.
 */
import type { PeerAddress } from '../../src/codec/compact.js';
import type { DatagramHandler, DatagramTransport } from '../../src/krpc/transport.js';
import type { Random } from '../../src/util/random.js';
import type { FakeClock } from './fake-clock.js';

export interface MemoryNetworkOptions {
  minLatencyMs?: number;
  maxLatencyMs?: number;
  /** Probability that a datagram is lost. */
  loss?: number;
}

export class MemoryNetwork {
  readonly stats = { sent: 0, delivered: 0, lost: 0, toNowhere: 0 };
  private readonly endpoints = new Map<string, MemoryTransport>();
  private readonly down = new Set<string>();
  private readonly minLatency: number;
  private readonly maxLatency: number;
  private readonly loss: number;
  private nextPort = 20000;

  constructor(
    private readonly clock: FakeClock,
    private readonly random: Random,
    options: MemoryNetworkOptions = {},
  ) {
    this.minLatency = options.minLatencyMs ?? 5;
    this.maxLatency = options.maxLatencyMs ?? 40;
    this.loss = options.loss ?? 0;
  }

  bind(host: string, port?: number): MemoryTransport {
    const t = new MemoryTransport(this, { host, port: port ?? this.nextPort++ });
    this.endpoints.set(key(t.local), t);
    return t;
  }

  /** Takes a host down: nothing reaches it and nothing it sends arrives. */
  kill(host: string): void {
    this.down.add(host);
  }

  deliver(data: Uint8Array, from: PeerAddress, to: PeerAddress): void {
    this.stats.sent++;
    if (this.down.has(from.host)) return;
    if (this.loss > 0 && this.random.float() < this.loss) {
      this.stats.lost++;
      return;
    }
    const latency = this.minLatency + this.random.int(this.maxLatency - this.minLatency + 1);
    this.clock.setTimeout(() => {
      const target = this.endpoints.get(key(to));
      if (!target || this.down.has(to.host) || target.closed) {
        this.stats.toNowhere++;
        return;
      }
      this.stats.delivered++;
      target.receive(data, from);
    }, latency);
  }

  unbind(t: MemoryTransport): void {
    this.endpoints.delete(key(t.local));
  }
}

function key(a: PeerAddress): string {
  return `${a.host}/${a.port}`;
}

export class MemoryTransport implements DatagramTransport {
  closed = false;
  private handler: DatagramHandler = () => undefined;

  constructor(
    private readonly network: MemoryNetwork,
    readonly local: PeerAddress,
  ) {}

  send(data: Uint8Array, to: PeerAddress): void {
    if (!this.closed) this.network.deliver(data, this.local, to);
  }

  onDatagram(handler: DatagramHandler): void {
    this.handler = handler;
  }

  receive(data: Uint8Array, from: PeerAddress): void {
    this.handler(data, from);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.unbind(this);
  }
}
