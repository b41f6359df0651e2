import { createSocket, type Socket } from 'node:dgram';
import { toNtpTimestamp } from '../../installer-ova/setup/sntp-client.js';

/**
 * An SNTP server on a loopback UDP port for the NTP check: answers each request with this
 * machine's time plus `offsetMs` (stratum 2), or never answers when `silent`.
 */
export class SntpServer {
  requests = 0;
  private constructor(private readonly socket: Socket, readonly offsetMs: number) {}

  static async start(options: { offsetMs?: number; silent?: boolean } = {}): Promise<SntpServer> {
    const socket = createSocket('udp4');
    const server = new SntpServer(socket, options.offsetMs ?? 0);
    socket.on('message', (request, peer) => {
      server.requests++;
      if (options.silent || request.length < 48) return;
      const received = Date.now() + server.offsetMs;
      const reply = Buffer.alloc(48);
      reply[0] = (0 << 6) | (4 << 3) | 4; // LI 0, version 4, mode 4 (server)
      reply[1] = 2;
      reply.write('LOCL', 12, 'latin1');
      request.copy(reply, 24, 40, 48); // originate = the client's transmit timestamp
      toNtpTimestamp(received, reply, 16);
      toNtpTimestamp(received, reply, 32);
      toNtpTimestamp(Date.now() + server.offsetMs, reply, 40);
      socket.send(reply, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return server;
  }

  /** `127.0.0.1:PORT`, as an admin would type a server with a port. */
  get address(): string {
    return `127.0.0.1:${(this.socket.address()).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

