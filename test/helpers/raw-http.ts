/**
 * HTTP over a bare TCP socket (node:net), for tests that need bytes no HTTP client
 * would send: malformed requests, hostile Host headers, slow or endless bodies.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends on `socket` until it closes (or `withinMs` passes: then `closed` is false). */
export function readUntilClosed(socket: Socket, withinMs: number): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    let data = '';
    const timer = setTimeout(() => finish(false), withinMs);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ data, closed });
    };
    const onData = (chunk: Buffer) => (data += chunk.toString('latin1'));
    socket.on('data', onData);
    socket.on('error', () => undefined);
    if (socket.destroyed || socket.readableEnded) finish(true);
    else socket.once('close', () => finish(true));
  });
}

/** Resolves with the first complete response (Content-Length framed) read from `socket`. */
export function readResponse(socket: Socket, withinMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`no complete response within ${withinMs} ms: ${data.toString('latin1')}`)), withinMs);
    const done = (error?: Error, response?: RawResponse) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve(response!);
    };
    const onData = (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const parsed = parseResponse(data);
      if (parsed) done(undefined, parsed);
    };
    const onClose = () => done(new Error(`closed before a complete response: ${JSON.stringify(data.toString('latin1'))}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** One response parsed from the start of `data`, or null while it is incomplete. */
export function parseResponse(data: Buffer): RawResponse | null {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (data.length < end + 4 + length) return null;
  return { status: Number(statusLine!.split(' ')[1]), headers, body: data.subarray(end + 4, end + 4 + length).toString('utf8') };
}

/** Sends `request` (raw bytes) on a new connection and reads the one response. */
export async function rawRequest(port: number, request: string): Promise<RawResponse> {
  const socket = await openSocket(port);
  try {
    const response = readResponse(socket);
    socket.write(request, 'latin1');
    return await response;
  } finally {
    socket.destroy();
  }
}

/** Resolves true once `socket` is closed by the other side, false if it is still open after `withinMs`. */
export function closedWithin(socket: Socket, withinMs: number): Promise<boolean> {
  return readUntilClosed(socket, withinMs).then((r) => r.closed);
}
