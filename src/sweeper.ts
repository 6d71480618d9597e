/**
 * Removes expired sessions every `interval` ms where the server has no TTL indexes. The timer
 * never keeps the process alive, sweeps never overlap, and a failure is reported once per outage.
 * Returns the function that stops it.
 */
export function startSweeper(sweep: () => Promise<number>, interval: number, warn: (message: string) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  let failing = false;

  const timer = setInterval(() => {
    if (running) return;
    running = sweep()
      .then(
        () => {
          failing = false;
        },
        (err: unknown) => {
          if (failing) return;
          failing = true;
          // The message already starts with "mongosess: removing expired sessions failed".
          report(warn, `${(err as Error).message} (the sweep retries every ${interval} ms)`);
        },
      )
      .finally(() => {
        running = undefined;
      });
  }, interval);
  timer.unref();

  return async () => {
    clearInterval(timer);
    await running;
  };
}

/**
 * Passes a warning to the user's `warn`. Nobody awaits the sweep, so if `warn` itself throws,
 * the warning goes to `process.emitWarning` instead, saying that `warn` threw (with its error's
 * name only: its message could say anything), rather than becoming an unhandled rejection.
 */
function report(warn: (message: string) => void, message: string): void {
  try {
    warn(message);
  } catch (err) {
    const name = err instanceof Error ? err.name : typeof err;
    process.emitWarning(`${message}; reported here because the warn option threw (${name})`, 'MongoSessWarning');
  }
}
