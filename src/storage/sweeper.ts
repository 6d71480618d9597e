import { reportWarning, type Warn } from '../edge/errors.js';

/**
 * Removes expired sessions every `interval` ms where the server has no TTL indexes. The timer
 * never keeps the process alive, sweeps never overlap, and a failure is reported once per outage.
 * Returns the function that stops it.
 */
export function startSweeper(sweep: () => Promise<number>, interval: number, warn: Warn): () => Promise<void> {
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
          reportWarning(warn, `${(err as Error).message} (the sweep retries every ${interval} ms)`, err as Error);
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
