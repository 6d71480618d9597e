// A TCP relay in front of the database server, to take the database away from a running client
// (for good, or for a while) and to hold one chosen message on its way to the server.
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { MessageFramer } from '../../scripts/wire-messages.mjs';

export interface TcpProxy {
  /** A connection string for the database through this relay. */
  uri: string;
  /** Stops listening and destroys every relayed connection: the database is gone for the client. */
  cut(): Promise<void>;
  /** Destroys every relayed connection, and every new one until `up()`: the database is down. */
  down(): void;
  /** New connections are relayed again. */
  up(): void;
  /**
   * Holds the next client message that `matches` (a whole wire-protocol message) before the
   * server sees it: `atGate` resolves once one is held, `release` sends it on. Later messages on
   * that connection wait behind it; other connections flow.
   */
  hold(matches: (message: Buffer) => boolean): { atGate: Promise<void>; release: () => void };
  /**
   * Lets the next client message that `matches` reach the server, but holds the server's reply to
   * it: `atGate` resolves once the reply is held, `release` passes it (and what followed it on
   * that connection) on. The write has happened; only its answer is late.
   */
  holdReply(matches: (message: Buffer) => boolean): { atGate: Promise<void>; release: () => void };
}

interface Hold {
  matches: (message: Buffer) => boolean;
  reached: () => void;
  released: Promise<void>;
}

function gate(matches: (message: Buffer) => boolean): { hold: Hold; atGate: Promise<void>; release: () => void } {
  let reached!: () => void;
  let release!: () => void;
  const atGate = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return { hold: { matches, reached, released }, atGate, release };
}

/** Relays 127.0.0.1:<free port> to the host and port of `targetUri` (a single-host mongodb:// URI). */
export async function tcpProxy(targetUri: string): Promise<TcpProxy> {
  const target = new URL(targetUri);
  const host = target.hostname;
  const port = Number(target.port || 27017);
  const sockets = new Set<Socket>();
  let isDown = false;
  let hold: Hold | undefined;
  let replyHold: Hold | undefined;

  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };

  /** Client to server, message by message, so that one message (or the reply to one) can be held back. */
  const relayClient = (client: Socket, upstream: Socket) => {
    const framer = new MessageFramer();
    let queue = Promise.resolve();
    /** requestID of the message whose reply is to be held, with its hold. */
    let awaited: { requestId: number; hold: Hold } | undefined;
    client.on('data', (chunk: Buffer) => {
      for (const message of framer.push(chunk)) {
        const held = hold?.matches(message) ? hold : undefined;
        if (held) {
          hold = undefined;
          held.reached();
        }
        if (replyHold?.matches(message)) {
          awaited = { requestId: message.readInt32LE(4), hold: replyHold };
          replyHold = undefined;
        }
        queue = queue.then(async () => {
          if (held) await held.released;
          if (!upstream.destroyed) upstream.write(message);
        });
      }
    });
    const fromServer = new MessageFramer();
    let replies = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      for (const message of fromServer.push(chunk)) {
        const held = awaited && message.readInt32LE(8) === awaited.requestId ? awaited.hold : undefined;
        if (held) {
          awaited = undefined;
          held.reached();
        }
        replies = replies.then(async () => {
          if (held) await held.released;
          if (!client.destroyed) client.write(message);
        });
      }
    });
  };

  const server = createServer((client) => {
    if (isDown) {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    track(client);
    track(upstream);
    relayClient(client, upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: local } = server.address() as AddressInfo;
  const destroyAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    uri: `mongodb://127.0.0.1:${local}/`,
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        destroyAll();
      }),
    down: () => {
      isDown = true;
      destroyAll();
    },
    up: () => {
      isDown = false;
    },
    hold: (matches) => {
      const made = gate(matches);
      hold = made.hold;
      return { atGate: made.atGate, release: made.release };
    },
    holdReply: (matches) => {
      const made = gate(matches);
      replyHold = made.hold;
      return { atGate: made.atGate, release: made.release };
    },
  };
}
