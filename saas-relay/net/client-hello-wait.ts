import type { Socket } from 'node:net';

/** TLS record content type of a handshake message; a ClientHello is the first one a client sends. */
const HANDSHAKE = 0x16;
const RECORD_HEADER_BYTES = 5;
/** RFC 8446 §5.1: a plaintext record carries at most 2^14 bytes. */
const MAX_RECORD_BYTES = 16_384;

/**
 * Waits, before any TLS work, until `socket` has sent the whole first TLS record (its ClientHello),
 * then calls `onHello` with the bytes pushed back into the socket for the TLS layer to read. A
 * socket that sends nothing, drips a partial record, or does not speak TLS never gets that far:
 * it is destroyed when `timeoutMs` after accept has passed (or at once when its first byte is not
 * a TLS handshake record). So a silent or slow client costs one descriptor and one timer, and
 * never takes a TLS slot a working client could use.
 *
 * Returns a function that stops waiting without destroying the socket (used when the gate evicts
 * the socket itself).
 */
export function awaitClientHello(socket: Socket, timeoutMs: number, onHello: () => void): () => void {
  let head: Buffer = Buffer.alloc(0);
  const stop = (): void => {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('close', stop);
  };
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    // A TLS record starts 0x16 0x03: anything else is not TLS (plain HTTP, a port scan) and
    // would only be refused by the TLS layer later.
    if (head[0] !== HANDSHAKE || (head.length > 1 && head[1] !== 0x03)) {
      stop();
      socket.destroy();
      return;
    }
    if (head.length < RECORD_HEADER_BYTES) return;
    const length = head.readUInt16BE(3);
    if (length > MAX_RECORD_BYTES) {
      stop();
      socket.destroy();
      return;
    }
    if (head.length < RECORD_HEADER_BYTES + length) return;
    stop();
    // Hand the bytes back: TLSSocket reads whatever its raw socket has buffered when it wraps it.
    socket.pause();
    socket.unshift(head);
    onHello();
  };
  const timer = setTimeout(() => {
    stop();
    socket.destroy();
  }, timeoutMs);
  socket.on('data', onData);
  socket.once('close', stop);
  return stop;
}
