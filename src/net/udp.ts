/**
 * The real datagram transport: one UDP socket (IPv4 or IPv6) on `dgram-as-promised`. Incoming datagrams go
 * straight to the handler; send errors (unreachable hosts, full buffers) are counted, never thrown.
 */
import { isIPv6 } from 'node:net';
import DgramAsPromised, { type SocketAsPromised } from 'dgram-as-promised';
import type { PeerAddress } from '../codec/compact.js';
import type { DatagramHandler, DatagramTransport } from '../krpc/transport.js';

/** Bigger kernel buffers ride out bursts (a bootstrap node answers thousands of queries a second). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export interface UdpStats {
  received: number;
  sent: number;
  sendErrors: number;
}

export class UdpTransport implements DatagramTransport {
  readonly stats: UdpStats = { received: 0, sent: 0, sendErrors: 0 };
  private handler: DatagramHandler = () => undefined;

  private constructor(
    private readonly socket: SocketAsPromised,
    readonly local: PeerAddress,
  ) {}

  /** Binds a socket on `host:port` (port 0 picks a free one). */
  static async bind(host: string, port: number): Promise<UdpTransport> {
    let transport: UdpTransport | undefined;
    const socket = DgramAsPromised.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host) }, (msg, rinfo) => {
      if (!transport) return;
      transport.stats.received++;
      transport.handler(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { host: rinfo.address, port: rinfo.port });
    });
    // A socket error after bind (ICMP unreachable on some platforms) must not crash the process.
    socket.socket.on('error', () => {
      if (transport) transport.stats.sendErrors++;
    });
    const info = await socket.bind(port, host);
    try {
      socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
      socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
    } catch {
      // The kernel may cap buffer sizes; the defaults still work.
    }
    transport = new UdpTransport(socket, { host: info.address, port: info.port });
    return transport;
  }

  send(data: Uint8Array, to: PeerAddress): void {
    this.stats.sent++;
    // No per-datagram callback (a closure per send on the hot path): without one, dgram reports a send
    // error as an 'error' event, which the handler installed in bind() counts.
    this.socket.socket.send(data, to.port, to.host);
  }

  onDatagram(handler: DatagramHandler): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    await this.socket.close().catch(() => undefined);
  }
}
