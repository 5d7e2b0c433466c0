/**
 * Runs `work` every `ms` until stopped. A run waits for the previous one, so a slow database
 * never stacks runs up; a failure goes to `onError` and the next run still comes. The timer does
 * not keep the process alive.
 */
export function every(
  ms: number,
  work: () => Promise<unknown>,
  onError: (error: unknown) => void,
): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    work()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, ms);
  timer.unref();
  return timer;
}
