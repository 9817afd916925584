// A lean HTTP/1.1 load generator over keep-alive TLS connections: one request in flight per
// connection, responses read by Content-Length. The benchmark's server and its bare baseline are
// driven by the same code, so what the client costs (it shares the machine) weighs on both alike.
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';

export interface LoadConnection {
  /** Sends one request and resolves with the status and body. */
  post(path: string, body: string): Promise<{ status: number; body: string }>;
  close(): void;
}

export async function openLoadConnection(url: string, tls: ConnectionOptions): Promise<LoadConnection> {
  const { hostname, port } = new URL(url);
  const socket: TLSSocket = await new Promise((resolve, reject) => {
    const opened = connect({ host: hostname, port: Number(port), servername: undefined, ...tls }, () =>
      resolve(opened),
    );
    opened.once('error', reject);
  });
  socket.setNoDelay(true);
  let buffer: Buffer = Buffer.alloc(0);
  let waiting: ((response: { status: number; body: string }) => void) | undefined;
  let failing: ((error: Error) => void) | undefined;
  socket.on('error', (error) => failing?.(error));
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buffer.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (buffer.length < end + 4 + length) return;
    const status = Number(head.slice(9, 12));
    const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    buffer = buffer.subarray(end + 4 + length);
    const resolve = waiting;
    waiting = undefined;
    resolve?.({ status, body });
  });
  const host = `${hostname}:${port}`;
  return {
    post(path, body) {
      return new Promise((resolve, reject) => {
        waiting = resolve;
        failing = reject;
        socket.write(
          `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      });
    },
    close() {
      socket.destroy();
    },
  };
}
