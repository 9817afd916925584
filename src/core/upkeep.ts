/**
 * Runs `work` now (when `immediately`) and then every `intervalMs`, one round at a time (a slow
 * round delays the next instead of overlapping it). Errors go to `onError` and never stop the
 * loop. The timer does not keep the process alive. Returns a stop function that waits for the
 * round in flight.
 */
export function runPeriodically(
  work: () => Promise<void>,
  options: { intervalMs: number; immediately?: boolean; onError?: (error: unknown) => void },
): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const round = () => {
    running = running.then(async () => {
      try {
        await work();
      } catch (error) {
        options.onError?.(error);
      }
    });
  };
  if (options.immediately === true) round();
  const timer = setInterval(round, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
