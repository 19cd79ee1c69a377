/**
 * Polls until `check` passes (returns without throwing), or rethrows its last failure after
 * `timeoutMs`: for what happens in the background (flushes, locks ending), without fixed sleeps.
 */
export async function eventually(
  check: () => Promise<void> | void,
  timeoutMs = 6000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
