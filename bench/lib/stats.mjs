// Summaries of timing samples (any unit).

/** The q-quantile (0..1) of `samples`, nearest rank. */
export function quantile(samples, q) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** {median, p95} of `samples`. */
export const summary = (samples) => ({ median: quantile(samples, 0.5), p95: quantile(samples, 0.95) });

/** Runs `fn` `warmup` times, then `n` times, and returns the `n` results. */
export async function repeat(n, warmup, fn) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}
