// A TCP relay in front of the database server, to cut the connection under a running client.
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  /** A connection string for the database through this relay. */
  uri: string;
  /** Stops listening and destroys every relayed connection: the database is gone for the client. */
  cut(): Promise<void>;
}

/** Relays 127.0.0.1:<free port> to the host and port of `targetUri` (a single-host mongodb:// URI). */
export async function tcpProxy(targetUri: string): Promise<TcpProxy> {
  const target = new URL(targetUri);
  const host = target.hostname;
  const port = Number(target.port || 27017);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: local } = server.address() as AddressInfo;
  return {
    uri: `mongodb://127.0.0.1:${local}/`,
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
