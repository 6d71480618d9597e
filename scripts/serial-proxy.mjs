// A TCP proxy in front of a MongoDB-compatible server that lets one data command at a time reach
// it, across all client connections (FIFO). FerretDB 1.x applies concurrent updates of one
// document as an unlocked read-modify-write; behind this proxy it sees them one after another,
// as MongoDB's per-document atomicity would order them, so tests and the benchmark measure the
// library rather than the server. Connection chatter (hello, ping, auth, …) passes straight
// through. Types in serial-proxy.d.mts; tests import it through test/helpers/serial-proxy.ts.
import { connect, createServer } from 'node:net';
import { describeMessage, MessageFramer, MORE_TO_COME, OP_MSG } from './wire-messages.mjs';

/** Commands that are connection housekeeping, not data work: never serialized. */
export const CHATTER = new Set([
  'hello',
  'isMaster',
  'ismaster',
  'ping',
  'buildInfo',
  'buildinfo',
  'saslStart',
  'saslContinue',
  'authenticate',
  'getnonce',
  'logout',
  'endSessions',
  'getParameter',
  'hostInfo',
  'whatsmyuri',
  'connectionStatus',
]);

/** The global slot: held by one connection at a time, handed on in arrival order. */
class Slot {
  holder = undefined;
  #queue = [];

  /** Calls `granted` once `conn` holds the slot (at once if it is free). */
  acquire(conn, granted) {
    if (this.holder === undefined) {
      this.holder = conn;
      granted();
    } else {
      this.#queue.push({ conn, granted });
    }
  }

  /** `conn` is gone: it leaves the queue, and lets go of the slot if it holds it. */
  leave(conn) {
    this.#queue = this.#queue.filter((waiter) => waiter.conn !== conn);
    this.release(conn);
  }

  /** `conn` lets go of the slot (if it holds it); the longest waiter gets it. */
  release(conn) {
    if (this.holder !== conn) return;
    const next = this.#queue.shift();
    this.holder = next?.conn;
    next?.granted();
  }
}

/**
 * One client connection and its own connection to the server. Client messages go out in order:
 * a data command waits for the slot, and everything after it on this connection waits behind it.
 */
class Relay {
  #client;
  #upstream;
  #slot;
  #counts;
  #outbox = [];
  #waiting = false;
  /** requestID of the data command whose reply (without moreToCome) frees the slot. */
  #holding = undefined;
  #closed = false;

  constructor(client, upstream, slot, counts) {
    this.#client = client;
    this.#upstream = upstream;
    this.#slot = slot;
    this.#counts = counts;
    const fromClient = new MessageFramer();
    const fromServer = new MessageFramer();
    client.on('data', (chunk) => this.#guard(() => this.#fromClient(fromClient.push(chunk))));
    upstream.on('data', (chunk) => this.#guard(() => this.#fromServer(chunk, fromServer.push(chunk))));
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.close());
      socket.on('close', () => this.close());
    }
  }

  /** A stream that is not wire protocol ends the connection rather than the process. */
  #guard(work) {
    try {
      work();
    } catch {
      this.close();
    }
  }

  #fromClient(messages) {
    this.#outbox.push(...messages);
    this.#pump();
  }

  #pump() {
    while (!this.#waiting && !this.#closed && this.#outbox.length > 0) {
      const message = this.#outbox[0];
      const info = describeMessage(message);
      const data = info.opCode === OP_MSG && !CHATTER.has(info.command ?? '');
      if (!data) {
        this.#outbox.shift();
        this.#counts.chatter++;
        this.#upstream.write(message);
        continue;
      }
      this.#waiting = true;
      this.#slot.acquire(this, () => {
        this.#waiting = false;
        if (this.#closed) return this.#slot.release(this);
        this.#outbox.shift();
        this.#counts.serialized++;
        this.#counts.byName.set(info.command ?? '?', (this.#counts.byName.get(info.command ?? '?') ?? 0) + 1);
        this.#upstream.write(message);
        if (info.flagBits & MORE_TO_COME)
          this.#slot.release(this); // no reply will come
        else this.#holding = info.requestId;
        this.#pump();
      });
    }
  }

  #fromServer(chunk, messages) {
    this.#client.write(chunk);
    for (const message of messages) {
      const info = describeMessage(message);
      if (this.#holding === undefined || info.responseTo !== this.#holding) continue;
      if (info.flagBits & MORE_TO_COME) continue; // more replies to this request follow
      this.#holding = undefined;
      this.#slot.release(this);
    }
  }

  /** Ends both sides and gives the slot (or the place in its queue) back. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#outbox = [];
    this.#slot.leave(this);
    this.#client.destroy();
    this.#upstream.destroy();
  }
}

/**
 * Starts the proxy on 127.0.0.1:<free port> in front of `targetUri` (a single-host mongodb://
 * URI). `uri` is the connection string through it; `serialized` counts the data commands it let
 * through one at a time (by name in `byName`), `chatter` the messages it passed straight on.
 */
export async function serialProxy(targetUri) {
  const target = new URL(targetUri);
  const host = target.hostname;
  const port = Number(target.port || 27017);
  const slot = new Slot();
  const counts = { serialized: 0, chatter: 0, byName: new Map() };
  const relays = new Set();
  const server = createServer((client) => {
    const relay = new Relay(client, connect(port, host), slot, counts);
    relays.add(relay);
    client.on('close', () => relays.delete(relay));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const local = server.address().port;
  return {
    uri: `mongodb://127.0.0.1:${local}/`,
    port: local,
    get serialized() {
      return counts.serialized;
    },
    get chatter() {
      return counts.chatter;
    },
    byName: counts.byName,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const relay of relays) relay.close();
      }),
  };
}
