/**
 * `createTcpProxy` sits between a service and PostgreSQL or Redis so a test can cut the connection (or freeze it, a
 * server gone silent) and restore it, to show 503s and recovery without touching the shared servers.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  /** Drop every connection and refuse new ones, like a server that went away. */
  cut(): Promise<void>;
  /**
   * Stop passing bytes either way while keeping every connection open, and accept new ones that never get an answer:
   * a server that vanished without closing anything (a node lost, packets dropped).
   */
  freeze(): void;
  /** Accept connections again on the same port (after `freeze`: drop the frozen connections, then pass bytes again). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function createTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const onConnection = (client: net.Socket) => {
    if (frozen) {
      track(client);
      client.on('error', () => client.destroy());
      client.pause();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      track(socket);
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  };
  let server = net.createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  const port = await listen(0);
  const stopServer = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  return {
    port,
    rewrite(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    cut: stopServer,
    freeze() {
      frozen = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    async restore() {
      if (frozen) {
        frozen = false;
        for (const socket of sockets) socket.destroy();
        return;
      }
      if (server.listening) return;
      server = net.createServer(onConnection);
      await listen(port);
    },
    close: stopServer,
  };
}

/** A free TCP port on 127.0.0.1 (for a server a test starts). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
