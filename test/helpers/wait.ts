// Waiting for a condition in tests: the thing itself, checked often, never a fixed sleep.

/**
 * Resolves once `check` returns a truthy value (that value), checking every `intervalMs` (default 10 ms);
 * rejects with `what` after `timeoutMs` (default 45 000 ms, under the tests' own 60 s limit so the
 * message says what never came), which only bounds a test that would otherwise hang: a cold,
 * loaded machine takes longer, and this never fails it sooner.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  { timeoutMs = 45_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
