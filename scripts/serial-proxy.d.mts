export declare const CHATTER: ReadonlySet<string>;

export interface SerialProxy {
  /** A connection string for the server through the proxy. */
  readonly uri: string;
  readonly port: number;
  /** Data commands let through one at a time so far. */
  readonly serialized: number;
  /** Messages passed straight through (connection chatter, non-OP_MSG opcodes). */
  readonly chatter: number;
  /** `serialized` by command name. */
  readonly byName: ReadonlyMap<string, number>;
  /** Stops listening and ends every relayed connection. */
  close(): Promise<void>;
}

export declare function serialProxy(targetUri: string): Promise<SerialProxy>;
