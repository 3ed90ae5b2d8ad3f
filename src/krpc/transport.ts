/**
 * The datagram transport the RPC layer runs over. The real one is UDP (src/net/udp.ts); tests and
 * simulations use an in-memory network. Handlers are called synchronously per datagram.
 */
import type { PeerAddress } from '../codec/compact.js';

export type DatagramHandler = (data: Uint8Array, from: PeerAddress) => void;

export interface DatagramTransport {
  /** The local address we are bound to (port resolved when bound to 0). */
  readonly local: PeerAddress;
  /** Sends one datagram. Never throws for a network error: those are counted by the transport. */
  send(data: Uint8Array, to: PeerAddress): void;
  /** Sets the one receiver of incoming datagrams. */
  onDatagram(handler: DatagramHandler): void;
  close(): Promise<void>;
}
