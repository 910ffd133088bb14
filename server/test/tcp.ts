/**
 * A small TCP proxy on loopback for cluster tests: round robin over several backends (the load balancer in
 * front of masters, as an operator's would be), skipping one that refuses; and a switch that cuts every
 * connection and refuses new ones (a master cut off from its database, when the proxy is in front of it).
 */
import net from 'node:net';

export class TcpProxy {
  private next = 0;
  private down = false;
  private readonly sockets = new Set<net.Socket>();
  /** Connections made through it so far, per backend port. */
  readonly served = new Map<number, number>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly backends: number[],
  ) {}

  static async start(backends: number[]): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port, backends);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private accept(client: net.Socket, tries = 0): void {
    if (this.down || tries >= this.backends.length) {
      client.destroy();
      return;
    }
    const port = this.backends[this.next++ % this.backends.length]!;
    const upstream = net.connect(port, '127.0.0.1');
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.served.set(port, (this.served.get(port) ?? 0) + 1);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', () => {
      // A backend that refuses (a dead master): the next one gets this client.
      if (!connected) this.accept(client, tries + 1);
      else client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (connected) client.destroy();
    });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    }
  }

  /** Cut every connection now and refuse new ones until `restore` (a network partition). */
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
