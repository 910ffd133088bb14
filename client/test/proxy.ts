/**
 * A TCP proxy on loopback between a client and the master that a test can cut: real connections dropped
 * for real (mid-line if it likes), so the client sees what it would see when a network path breaks.
 */
import net from 'node:net';

export interface ProxiedConnection {
  client: net.Socket;
  upstream: net.Socket;
  /** The request line of the latest request sent on this connection, e.g. `GET /api/jobs/j_1/results?follow=true`. */
  request: string;
  /** Bytes sent down to the client since that request. */
  bytesDown: number;
  /** Nothing more goes down, and nothing says so: a connection that died silently. */
  frozen: boolean;
}

export class CutProxy {
  /** Request lines of every request that went through, in order. */
  readonly requests: string[] = [];
  readonly connections = new Set<ProxiedConnection>();
  /**
   * Asked before each chunk goes down to the client: true cuts the connection instead (the chunk is lost);
   * a number sends that many bytes of the chunk first, then cuts.
   */
  cutWhen: ((conn: ProxiedConnection, chunk: Buffer) => boolean | number) | null = null;
  /** Connections cut so far. */
  cuts = 0;

  private constructor(
    private readonly server: net.Server,
    readonly url: string,
  ) {}

  static async start(targetPort: number): Promise<CutProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new CutProxy(server, `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  private accept(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const conn: ProxiedConnection = { client, upstream, request: '', bytesDown: 0, frozen: false };
    this.connections.add(conn);
    client.on('data', (chunk: Buffer) => {
      const line = /^(GET|POST|PUT|DELETE|PATCH|HEAD) (\S+) HTTP\/1\.1\r\n/.exec(chunk.subarray(0, 2048).toString('latin1'));
      if (line) {
        conn.request = `${line[1]} ${line[2]}`;
        conn.bytesDown = 0;
        this.requests.push(conn.request);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (conn.frozen) return;
      const cut = this.cutWhen?.(conn, chunk) ?? false;
      if (cut === false) {
        conn.bytesDown += chunk.length;
        client.write(chunk);
        return;
      }
      if (cut !== true && cut > 0) {
        conn.bytesDown += cut;
        // Cut only once these bytes have left, so the client really gets a part of the chunk.
        client.write(chunk.subarray(0, cut), () => this.cut(conn));
        return;
      }
      this.cut(conn);
    });
    const end = () => {
      this.connections.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  /** Drop one connection at once, both sides (the client sees a reset, the master a closed socket). */
  cut(conn: ProxiedConnection): void {
    this.cuts++;
    conn.client.resetAndDestroy();
    conn.upstream.destroy();
    this.connections.delete(conn);
  }

  /** Let every open connection go silent, both ways, without closing it. */
  freezeAll(): void {
    for (const conn of this.connections) {
      conn.frozen = true;
      conn.client.removeAllListeners('data');
    }
  }

  /** Drop every open connection. */
  cutAll(): void {
    for (const conn of [...this.connections]) this.cut(conn);
  }

  async close(): Promise<void> {
    this.cutWhen = null;
    for (const conn of [...this.connections]) {
      conn.client.destroy();
      conn.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
