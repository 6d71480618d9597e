// Gates that hold a request between two steps until the test lets it go, to stage races.

export class Gates {
  readonly #gates = new Map<string, { reached: () => void; release: Promise<void> }>();

  /** For the test: a gate named `name`; `atGate` resolves once a request waits there, `release` lets it go. */
  open(name: string): { atGate: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    this.#gates.set(name, { reached, release: new Promise<void>((resolve) => (release = resolve)) });
    return { atGate, release };
  }

  /** For the request: says it reached gate `name` and waits until the test releases it (no such gate: goes on). */
  async pass(name: string): Promise<void> {
    const gate = this.#gates.get(name);
    this.#gates.delete(name);
    gate?.reached();
    await gate?.release;
  }
}

/** `done` if the write succeeded, else the name of the error it failed with. */
export function writeOutcome(write: Promise<unknown> | undefined, done: string): Promise<string> {
  return Promise.resolve(write).then(
    () => done,
    (err: Error) => err.name,
  );
}
