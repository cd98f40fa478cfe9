// Test helpers that speak HTTP and WebSocket below the client libraries, so tests can send what
// no well-behaved client would: malformed frames, foreign Origins, odd Content-Types.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawSocket {
  socket: Socket;
  /** Bytes received after the HTTP response head. */
  received(): Buffer;
  /** Resolves when the server closes the TCP connection. */
  ended: Promise<void>;
}

/** Opens /api/events by hand; resolves with the HTTP status line and the open socket. */
export async function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; raw: RawSocket }> {
  const socket = connect(port, '127.0.0.1');
  let buffer = Buffer.alloc(0);
  let headEnd = -1;
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const head = new Promise<number>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (headEnd < 0) {
        headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd >= 0) resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(buffer.toString('latin1'))?.[1] ?? 0));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(buffer.toString('latin1'))?.[1] ?? 0)));
  });
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const status = await head;
  return { status, raw: { socket, received: () => (headEnd >= 0 ? buffer.subarray(headEnd + 4) : Buffer.alloc(0)), ended } };
}

/** One client frame: FIN set; `mask` false sends it unmasked (a protocol error from a client). */
export function frame(opcode: number, payload: Buffer, options: { mask?: boolean; rsv1?: boolean } = {}): Buffer {
  const mask = options.mask ?? true;
  const first = 0x80 | (options.rsv1 ? 0x40 : 0) | opcode;
  const length = payload.length;
  const lengthBytes = length < 126 ? Buffer.from([length]) : length < 65536 ? Buffer.from([126, length >> 8, length & 255]) : null;
  if (!lengthBytes) throw new Error('test frames stay under 64 KiB');
  lengthBytes[0]! |= mask ? 0x80 : 0;
  if (!mask) return Buffer.concat([Buffer.from([first]), lengthBytes, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([Buffer.from([first]), lengthBytes, key, masked]);
}

/** The close code in the first server frame, if it is a close frame. */
export function closeCode(bytes: Buffer): number | undefined {
  if (bytes.length < 4 || (bytes[0]! & 0x0f) !== 0x8) return undefined;
  return bytes.readUInt16BE(2);
}

/** The six malformed frames of issue #16, each with the close code RFC 6455 assigns it. */
export function malformedFrames(maxPayload: number): { name: string; bytes: Buffer; code: number }[] {
  const closePayload = Buffer.alloc(2);
  closePayload.writeUInt16BE(999);
  return [
    { name: 'message over maxPayload', bytes: frame(0x1, Buffer.alloc(maxPayload + 1, 0x61)), code: 1009 },
    { name: 'invalid UTF-8 text', bytes: frame(0x1, Buffer.from([0xff, 0xfe, 0xfd])), code: 1007 },
    { name: 'unmasked client frame', bytes: frame(0x1, Buffer.from('hi'), { mask: false }), code: 1002 },
    { name: 'reserved opcode 3', bytes: frame(0x3, Buffer.from('hi')), code: 1002 },
    { name: 'close code 999', bytes: frame(0x8, closePayload), code: 1002 },
    { name: 'RSV1 without an extension', bytes: frame(0x1, Buffer.from('hi'), { rsv1: true }), code: 1002 },
  ];
}
