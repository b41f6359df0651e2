import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { systemClock, type Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';

/** Seconds from the NTP era (1900) to the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const PACKET_BYTES = 48;

export interface SntpSample {
  /** Server clock minus local clock, ms. */
  readonly offsetMs: number;
  /** Round trip minus the server's processing time, ms. */
  readonly delayMs: number;
  readonly stratum: number;
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; port 123 by default. */
export function parseNtpServer(value: string): { host: string; port: number } {
  const text = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : 123 };
  if (isIP(text) === 6) return { host: text, port: 123 };
  const match = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text);
  const port = match?.[2] ? Number(match[2]) : 123;
  if (!match || port < 1 || port > 65_535) throw new PcgError('PCG_ERR_CONFIG_INVALID', `ntp.servers: "${value}" is not host or host:port`);
  return { host: match[1]!, port };
}

/** Unix ms to the 64-bit NTP timestamp (seconds since 1900, 32-bit fraction). */
export function toNtpTimestamp(unixMs: number, into: Buffer, offset: number): void {
  const seconds = Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET_S;
  const fraction = Math.round(((unixMs % 1000) / 1000) * 2 ** 32);
  into.writeUInt32BE(seconds >>> 0, offset);
  into.writeUInt32BE(Math.min(fraction, 2 ** 32 - 1), offset + 4);
}

export function fromNtpTimestamp(from: Buffer, offset: number): number {
  return (from.readUInt32BE(offset) - NTP_UNIX_OFFSET_S) * 1000 + (from.readUInt32BE(offset + 4) / 2 ** 32) * 1000;
}

/**
 * RFC 4330 §5: with t1 the client's transmit, t2 the server's receive, t3 the server's transmit
 * and t4 the client's receive time, offset = ((t2 - t1) + (t3 - t4)) / 2 and
 * delay = (t4 - t1) - (t3 - t2).
 */
export function sntpOffset(t1: number, t2: number, t3: number, t4: number): { offsetMs: number; delayMs: number } {
  return { offsetMs: ((t2 - t1) + (t3 - t4)) / 2, delayMs: (t4 - t1) - (t3 - t2) };
}

/**
 * One SNTP v4 query over UDP. No answer within `timeoutMs` (default 2 s) is
 * PCG_ERR_NTP_UNREACHABLE; a reply that is not for our request (originate timestamp), a
 * kiss-o'-death (stratum 0) or an unsynchronised server (leap indicator 3) is refused too.
 */
export async function querySntp(server: string, options: { timeoutMs?: number; clock?: Clock } = {}): Promise<SntpSample> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const clock = options.clock ?? systemClock;
  const { host, port } = parseNtpServer(server);
  let address = host;
  if (!isIP(host)) {
    try {
      address = (await lookup(host)).address;
    } catch (err) {
      throw new PcgError('PCG_ERR_DNS_UNRESOLVED', `NTP server ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
  }
  const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  const request = Buffer.alloc(PACKET_BYTES);
  request[0] = (0 << 6) | (4 << 3) | 3; // LI 0, version 4, mode 3 (client)
  return new Promise<SntpSample>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, sample?: SntpSample): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(sample!);
    };
    const timer = setTimeout(() => finish(new PcgError('PCG_ERR_NTP_UNREACHABLE', `NTP server ${server} did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => finish(new PcgError('PCG_ERR_NTP_UNREACHABLE', `NTP server ${server}: ${err.code ?? err.message}`, { cause: err })));
    socket.on('message', (reply) => {
      const t4 = clock.now();
      if (reply.length < PACKET_BYTES || !reply.subarray(24, 32).equals(request.subarray(40, 48))) return; // not ours: keep waiting
      const leap = reply[0]! >> 6;
      const mode = reply[0]! & 7;
      const stratum = reply[1]!;
      if (mode !== 4 || stratum === 0 || leap === 3) {
        finish(new PcgError('PCG_ERR_NTP_UNREACHABLE', `NTP server ${server} is not synchronised (mode ${mode}, stratum ${stratum}, leap ${leap})`));
        return;
      }
      const t2 = fromNtpTimestamp(reply, 32);
      const t3 = fromNtpTimestamp(reply, 40);
      const { offsetMs, delayMs } = sntpOffset(t1, t2, t3, t4);
      finish(undefined, { offsetMs: Math.round(offsetMs), delayMs: Math.max(0, Math.round(delayMs)), stratum });
    });
    const t1 = clock.now();
    toNtpTimestamp(t1, request, 40);
    socket.send(request, port, address, (err) => {
      if (err) finish(new PcgError('PCG_ERR_NTP_UNREACHABLE', `NTP server ${server}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
    });
  });
}
