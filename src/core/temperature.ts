/**
 * Temperature re-weighting of a list of probabilities, shared by the panel's webview (the
 * slider) and the host (sampling when generating).
 */
export const MIN_TEMPERATURE = 0.1;
export const MAX_TEMPERATURE = 5;

/**
 * Shares of the shown list at temperature T: p_i^(1/T), renormalised over the list (the
 * rest of the distribution is not known to the panel). T = 1 gives the list's own shares.
 */
export function temperedShares(probs: readonly number[], temperature: number): number[] {
  const t = Math.min(MAX_TEMPERATURE, Math.max(MIN_TEMPERATURE, temperature));
  const logs = probs.map((p) => (p > 0 ? Math.log(p) / t : -Infinity));
  const max = Math.max(...logs);
  if (!Number.isFinite(max)) return probs.map(() => 0);
  const weights = logs.map((l) => Math.exp(l - max));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}
