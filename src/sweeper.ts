import type { SessionCollection } from './session-collection.js';

/**
 * Removes expired sessions every `interval` ms where the server has no TTL indexes. The timer
 * never keeps the process alive, sweeps never overlap, and a failure is reported once per outage.
 * Returns the function that stops it.
 */
export function startSweeper(sessions: SessionCollection, interval: number): () => Promise<void> {
  let running: Promise<void> | undefined;
  let failing = false;

  const timer = setInterval(() => {
    if (running) return;
    running = sessions
      .sweep()
      .then(
        () => {
          failing = false;
        },
        (err: unknown) => {
          if (failing) return;
          failing = true;
          // The message already starts with "mongosess: removing expired sessions failed".
          sessions.config.warn(`${(err as Error).message} (the sweep retries every ${interval} ms)`);
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
