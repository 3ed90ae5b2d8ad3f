/** Test helper: the initiator side of MSE over a Duplex (our outbound connections still speak plaintext). */
import type { Duplex } from 'node:stream';
import { Rc4Duplex } from '../../src/net/mse-stream.js';
import type { MseInitiator } from '../../src/wire/mse.js';

/** Runs an MSE initiator on `socket`; resolves with the stream for what follows (decrypting if RC4). */
export function initiate(socket: Duplex, init: MseInitiator): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        try {
          const step = init.receive(chunk);
          if (step.send.length > 0) socket.write(step.send);
          const r = step.result;
          if (r === undefined) continue;
          socket.off('readable', onReadable);
          if (r.cipher !== undefined) return resolve(new Rc4Duplex(socket, r.cipher, r.payload));
          if (r.payload.length > 0) socket.unshift(Buffer.from(r.payload));
          return resolve(socket);
        } catch (err) {
          socket.off('readable', onReadable);
          return reject(err);
        }
      }
    };
    socket.on('readable', onReadable);
    socket.once('close', () => reject(new Error('closed during the handshake')));
    socket.write(init.start());
  });
}
