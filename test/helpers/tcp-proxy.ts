/**
 * A TCP proxy on loopback between the app's pool and PostgreSQL, to make the network faults a
 * real server cannot be asked for: cut() destroys every connection through it (both sides, as a
 * dropped link or a killed server would), freeze() stops forwarding while keeping every socket
 * open (a hung server or a black-holed network: nothing answers, nothing closes), thaw() resumes.
 * Connections made after a cut go through as usual, so the pool can recover.
 */
import net from 'node:net';

export interface TcpProxy {
  /** `url` (a postgresql:// URL of the target) with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  /** Connections open through the proxy now. */
  readonly connections: number;
  cut(): void;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  server: net.Socket;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  let frozen = false;

  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!frozen) from.resume();
    });
  };

  const cut = () => {
    for (const { client, server } of links) {
      client.destroy();
      server.destroy();
    }
    links.clear();
  };

  const proxy = net.createServer((client) => {
    const server = net.connect(target);
    const link: Link = { client, server };
    links.add(link);
    if (frozen) {
      client.pause();
      server.pause();
    }
    forward(client, server);
    forward(server, client);
    const drop = () => {
      links.delete(link);
      client.destroy();
      server.destroy();
    };
    for (const socket of [client, server]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as net.AddressInfo;

  return {
    urlFor(url) {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    get connections() {
      return links.size;
    },
    cut,
    freeze() {
      frozen = true;
      for (const { client, server } of links) {
        client.pause();
        server.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const { client, server } of links) {
        client.resume();
        server.resume();
      }
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
