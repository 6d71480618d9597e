/**
 * What happens to sessions, told to the app: a typed emitter (`on` / `once` / `off`), the same
 * events on `node:diagnostics_channel` (channels `mongosess:<event>`, for tracing tools with no
 * dependency on mongosess), and debug lines with `NODE_DEBUG=mongosess`.
 *
 * Payloads name sessions by their handle (session/handle.ts) only: never a session id, a
 * signature, a key or a digest, so an event can be logged or shipped anywhere.
 */
import diagnostics from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import { MongoSessConfigError } from './errors.js';
import type { SessionHandle } from '../session/handle.js';
import { describe } from '../config/validate-option.js';

/** Why a session ended. */
export type EndReason = 'end' | 'regenerate' | 'endAll' | 'evicted' | 'expired';

/**
 * `ended`: one session, by handle; or, for `endAll` (one write that ends many), how many.
 * `expired` is reported as seen: when a request comes with the cookie of a session that expired.
 */
export type EndedEvent =
  | {
      /** Why it ended. */
      readonly reason: 'end' | 'regenerate' | 'evicted' | 'expired';
      /** The session that ended. */
      readonly handle: SessionHandle;
    }
  | {
      /** It was `endAll()`. */
      readonly reason: 'endAll';
      /** How many sessions it ended. */
      readonly count: number;
    };

/** The operations a request can attempt on a session that was ended meanwhile. */
export type RefusedOperation = 'write' | 'regenerate';

/** Every event and its payload. */
export interface SessionEventMap {
  /** A session was stored for the first time (its first write). */
  created: {
    /** The new session. */
    readonly handle: SessionHandle;
  };
  /** A session ended, or `endAll()` ended several. */
  ended: EndedEvent;
  /** `regenerate()` moved a session to a new id: the old handle is dead, the new one lives. */
  regenerated: {
    /** The old session, now dead. */
    readonly from: SessionHandle;
    /** The session it became. */
    readonly to: SessionHandle;
  };
  /** A write reached a session that was ended, regenerated or expired, and was refused. */
  refused: {
    /** The session that was gone. */
    readonly handle: SessionHandle;
    /** What was refused. */
    readonly operation: RefusedOperation;
  };
  /**
   * A regenerated session's old id was used after connect's `regenerateGrace` window (a stolen
   * or planted cookie, or a client that kept the old one): that request got a fresh, empty
   * session. Only with a window (`regenerateGrace` > 0).
   */
  replay: {
    /** The regenerated (old) session whose id was replayed. */
    readonly handle: SessionHandle;
    /** The session it became, if it still lives. */
    readonly to: SessionHandle | undefined;
  };
  /** A failure nobody awaits (the expiry sweep, the eviction of `maxSessionsPerUser`). */
  error: {
    /** The failure. */
    readonly error: Error;
    /** What mongosess was doing, in words. */
    readonly during: string;
  };
}

/** The name of an event: a key of {@link SessionEventMap}. */
export type SessionEventName = keyof SessionEventMap;
/** A listener of event `E`: it gets the event's payload. */
export type SessionListener<E extends SessionEventName> = (event: SessionEventMap[E]) => void;

/** Every event name, in one list (the channels are made from it). */
export const SESSION_EVENTS = [
  'created',
  'ended',
  'regenerated',
  'refused',
  'replay',
  'error',
] as const satisfies readonly SessionEventName[];

/** The `node:diagnostics_channel` channel name of an event. */
export function channelName(event: SessionEventName): string {
  return `mongosess:${event}`;
}

const channels = Object.fromEntries(SESSION_EVENTS.map((name) => [name, diagnostics.channel(channelName(name))])) as Record<
  SessionEventName,
  diagnostics.Channel
>;

const debug = debuglog('mongosess');

type Listeners = { [E in SessionEventName]: Set<SessionListener<E>> };

/**
 * The events of one store. Emitting never throws and never waits: a listener that throws is
 * reported to `report` (the store's `warn`), and the request goes on. An `error` event nobody
 * listens to is not an exception (unlike an EventEmitter's).
 */
export class SessionEvents {
  readonly #listeners: Listeners = {
    created: new Set(),
    ended: new Set(),
    regenerated: new Set(),
    refused: new Set(),
    replay: new Set(),
    error: new Set(),
  };
  /** Where a listener's own failure, or an `error` event nobody listens to, is reported. */
  #report: (message: string) => void;

  constructor(report: (message: string) => void = (message) => process.emitWarning(message, 'MongoSessWarning')) {
    this.#report = report;
  }

  /** Points reports at the connection's `warn` (set at connect). */
  reportTo(report: (message: string) => void): void {
    this.#report = report;
  }

  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): this {
    const set = this.#set(event);
    if (typeof listener !== 'function')
      throw new MongoSessConfigError(`the '${event}' listener must be a function, got: ${describe(listener)}`);
    set.add(listener);
    return this;
  }

  once<E extends SessionEventName>(event: E, listener: SessionListener<E>): this {
    const wrapped: SessionListener<E> = (payload) => {
      this.off(event, wrapped);
      listener(payload);
    };
    return this.on(event, wrapped);
  }

  off<E extends SessionEventName>(event: E, listener: SessionListener<E>): this {
    this.#set(event).delete(listener);
    return this;
  }

  /** How many listeners `event` has (diagnostics subscribers not counted). */
  listenerCount(event: SessionEventName): number {
    return this.#set(event).size;
  }

  /** Whether anyone would hear `event`: worth computing a payload (a handle costs a hash). */
  heard(event: SessionEventName): boolean {
    return this.#set(event).size > 0 || channels[event].hasSubscribers || debug.enabled;
  }

  emit<E extends SessionEventName>(event: E, payload: SessionEventMap[E]): void {
    if (debug.enabled) debug('%s %o', event, event === 'error' ? describeError(payload as SessionEventMap['error']) : payload);
    const channel = channels[event];
    if (channel.hasSubscribers) channel.publish(payload);
    const listeners = this.#set(event);
    for (const listener of [...listeners]) {
      try {
        listener(payload);
      } catch (err) {
        const name = err instanceof Error ? err.name : typeof err;
        this.#safeReport(`mongosess: a listener of the '${event}' event threw (${name}); the event's other listeners still ran`);
      }
    }
  }

  /**
   * A background failure: the `error` event, and, when no listener hears it, the store's `warn`
   * (so that it is never silent).
   */
  reportError(error: Error, during: string): void {
    this.emit('error', { error, during });
    if (this.#listeners.error.size === 0) this.#safeReport(`mongosess: ${during} failed: ${error.message.replace(/^mongosess: /, '')}`);
  }

  #safeReport(message: string): void {
    try {
      this.#report(message);
    } catch {
      process.emitWarning(message, 'MongoSessWarning');
    }
  }

  #set<E extends SessionEventName>(event: E): Set<SessionListener<E>> {
    // Own keys only: `on('toString', …)` from JavaScript must not reach Object.prototype.
    if (typeof event !== 'string' || !Object.hasOwn(this.#listeners, event)) {
      throw new MongoSessConfigError(`unknown event ${describe(event)}; use one of ${SESSION_EVENTS.join(', ')}`);
    }
    return this.#listeners[event] as Set<SessionListener<E>>;
  }
}

function describeError({ error, during }: SessionEventMap['error']): string {
  return `${during}: ${error.name}: ${error.message}`;
}
