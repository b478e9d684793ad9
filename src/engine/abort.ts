/** Settles with `promise`, or rejects with the signal's reason once it aborts (for work that ignores its signal). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Per signal shared by many waiters: the set of their callbacks, behind the one listener the signal has. */
const waiters = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `onAbort` once `signal` aborts (at once if it has); returns the function that stops waiting.
 * For a signal hundreds of waiters share (the worker's shutdown, one waiter per step in flight): an
 * EventTarget looks through all its listeners on every add and remove, which with 400 steps in flight
 * was ~1.3 % of bench/batch's CPU profile; here each waiter costs a Set add and delete.
 */
export function onceAborted(signal: AbortSignal, onAbort: () => void): () => void {
  if (signal.aborted) {
    onAbort();
    return () => {};
  }
  let set = waiters.get(signal);
  if (!set) {
    const callbacks = new Set<() => void>();
    set = callbacks;
    waiters.set(signal, callbacks);
    signal.addEventListener(
      'abort',
      () => {
        waiters.delete(signal);
        for (const fn of callbacks) {
          try {
            fn();
          } catch {
            // one waiter's failure must not keep the others from hearing of the abort
          }
        }
      },
      { once: true },
    );
  }
  set.add(onAbort);
  const mine = set;
  return () => {
    mine.delete(onAbort);
  };
}
