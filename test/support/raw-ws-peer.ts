import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { waitFor } from './wait-for.js';

/**
 * A websocket server written by hand on a loopback port (0): it completes the upgrade, then
 * writes exactly the frames a test asks for and never closes the TCP connection by itself.
 * So a test can send a close frame and hold the peer in CLOSING for as long as it likes, which a
 * real `ws` server (it ends the socket right after the close handshake) does not allow.
 */
export class RawWsPeer {
  #socket: Socket | undefined;

  private constructor(private readonly server: Server) {
    server.on('upgrade', (req, socket: Socket) => {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key'] ?? ''}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('data', () => undefined); // the client's frames (its close echo) are not read
      socket.on('error', () => undefined);
      this.#socket = socket;
    });
  }

  static async listen(): Promise<RawWsPeer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new RawWsPeer(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  connected(): Promise<Socket> {
    return waitFor('the client to upgrade', () => this.#socket, 5000, 5);
  }

  /** An unmasked binary frame (server to client), FIN set. */
  sendBinary(payload: Buffer): void {
    this.#write(0x82, payload);
  }

  /** A close frame with `code` and `reason`; the TCP connection stays open. */
  sendClose(code: number, reason: string): void {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.#write(0x88, payload);
  }

  #write(firstByte: number, payload: Buffer): void {
    let header: Buffer;
    if (payload.length < 126) header = Buffer.from([firstByte, payload.length]);
    else if (payload.length < 65536) {
      header = Buffer.alloc(4);
      header[0] = firstByte;
      header[1] = 126;
      header.writeUInt16BE(payload.length, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = firstByte;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    this.#socket!.write(Buffer.concat([header, payload]));
  }

  /** Destroys the connection and the server. */
  async close(): Promise<void> {
    this.#socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
