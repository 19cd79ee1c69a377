/**
 * Whether `promise` settled (resolved or rejected) within `ms`; never rejects (the caller
 * handles the promise's outcome itself). The start waits so for Redis, /health for the
 * database, and shutdown for the app to close: each must answer in time whatever the other
 * side does.
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
