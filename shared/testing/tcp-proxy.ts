import type { Socket, TCPSocketListener } from "bun";

interface Pair {
  client: Socket<Pair>;
  upstream?: Socket<Pair>;
  pending: Uint8Array[];
}

/**
 * A TCP proxy in front of a real server, so a test can cut a dependency off (`down`: every open
 * connection is reset and new ones are refused) and bring it back (`up`) without touching the server.
 */
export class TcpProxy {
  private listener: TCPSocketListener<Pair> | undefined;
  private readonly pairs = new Set<Pair>();
  port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async start(targetHost: string, targetPort: number, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    proxy.listen(port);
    return proxy;
  }

  get isUp(): boolean {
    return this.listener !== undefined;
  }

  private listen(port: number): void {
    const self = this;
    this.listener = Bun.listen<Pair>({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(client) {
          const pair: Pair = { client, pending: [] };
          client.data = pair;
          self.pairs.add(pair);
          Bun.connect<Pair>({
            hostname: self.targetHost,
            port: self.targetPort,
            socket: {
              open(upstream) {
                upstream.data = pair;
                pair.upstream = upstream;
                for (const chunk of pair.pending) upstream.write(chunk);
                pair.pending = [];
              },
              data(_upstream, chunk) {
                pair.client.write(chunk);
              },
              close() {
                pair.client.end();
                self.pairs.delete(pair);
              },
              error() {
                pair.client.end();
              },
            },
          }).catch(() => client.end());
        },
        data(client, chunk) {
          const pair = client.data;
          if (pair.upstream) pair.upstream.write(chunk);
          else pair.pending.push(new Uint8Array(chunk));
        },
        close(client) {
          client.data.upstream?.end();
          self.pairs.delete(client.data);
        },
        error(client) {
          client.data.upstream?.end();
        },
      },
    });
    this.port = this.listener.port;
  }

  /** Resets every connection and stops listening: clients see ECONNRESET, then ECONNREFUSED. */
  down(): void {
    this.listener?.stop(true);
    this.listener = undefined;
    for (const pair of this.pairs) {
      pair.client.end();
      pair.upstream?.end();
    }
    this.pairs.clear();
  }

  up(): void {
    if (!this.listener) this.listen(this.port);
  }

  stop(): void {
    this.down();
  }
}
