// Waiting for a condition in tests: the thing itself, checked often, never a fixed sleep.

/**
 * Resolves once `check` returns a truthy value (that value), checking every `intervalMs` (default 10 ms);
 * rejects with `what` after `timeoutMs` (default 15 000 ms), which only bounds a test that would
 * otherwise hang: a slow machine takes longer, never fails sooner.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  { timeoutMs = 15_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
