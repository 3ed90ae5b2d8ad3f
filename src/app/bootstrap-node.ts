/** Composition root of a bootstrap node on a real UDP socket. */
import { BootstrapServer, type BootstrapServerOptions } from '../dht/bootstrap-server.js';
import { UdpTransport } from '../net/udp.js';
import { SystemClock } from '../util/clock.js';
import { DhtNodeError, errorMessage } from '../util/errors.js';
import { SystemRandom } from '../util/random.js';

export interface RunningBootstrap {
  server: BootstrapServer;
  transport: UdpTransport;
  clock: SystemClock;
  close(): Promise<void>;
}

export async function startBootstrapNode(bind: string, port: number, options: BootstrapServerOptions): Promise<RunningBootstrap> {
  const clock = new SystemClock();
  const random = new SystemRandom();
  let transport: UdpTransport;
  try {
    transport = await UdpTransport.bind(bind, port);
  } catch (err) {
    throw new DhtNodeError('dht_bind', `cannot open UDP ${bind}:${port}: ${errorMessage(err)}`, { cause: err });
  }
  const server = new BootstrapServer({ clock, random, transport }, options);
  server.start();
  return {
    server,
    transport,
    clock,
    async close() {
      server.close();
      await transport.close();
    },
  };
}
