/**
 * A faster drop-in for src/core/distribution.ts analyseRow (same signature and results):
 * one pass for the max, one fused pass for sum(exp), sum(exp * x), the rank count and the
 * top-k insertion, with the current k-th best logit kept in a local instead of re-read
 * through topIds on every element.
 */
import type { RowStats } from '../../src/core/distribution';

export function analyseRowFast(
  logits: Float32Array, offset: number, width: number, target: number, displayableVocab: number,
  topIds: Int32Array, topProbs: Float32Array, topOffset: number, k: number,
): RowStats {
  const end = offset + width;
  let max = -Infinity;
  for (let i = offset; i < end; i++) { const x = logits[i]!; if (x > max) max = x; }
  const hasTarget = target >= 0 && target < width;
  const targetLogit = hasTarget ? logits[offset + target]! : Infinity;
  const limit = Math.min(k, displayableVocab, width);
  const topEnd = offset + Math.min(width, displayableVocab);
  let sumExp = 0, sumExpX = 0, greater = 0, filled = 0;
  let threshold = -Infinity; // k-th best logit once the buffer is full
  for (let i = offset; i < end; i++) {
    const x = logits[i]!;
    const shifted = x - max;
    const e = Math.exp(shifted);
    sumExp += e;
    sumExpX += e * shifted;
    if (x > targetLogit) greater++;
    if (limit > 0 && i < topEnd && (filled < limit || x > threshold)) {
      let position = filled < limit ? filled++ : limit - 1;
      while (position > 0 && logits[offset + topIds[topOffset + position - 1]!]! < x) {
        topIds[topOffset + position] = topIds[topOffset + position - 1]!;
        position--;
      }
      topIds[topOffset + position] = i - offset;
      if (filled === limit) threshold = logits[offset + topIds[topOffset + limit - 1]!]!;
    }
  }
  const logZ = Math.log(sumExp);
  const entropyNats = logZ - sumExpX / sumExp;
  for (let j = 0; j < limit; j++) topProbs[topOffset + j] = Math.exp(logits[offset + topIds[topOffset + j]!]! - max - logZ);
  for (let j = limit; j < k; j++) { topIds[topOffset + j] = -1; topProbs[topOffset + j] = 0; }
  return {
    logprob: hasTarget ? targetLogit - max - logZ : NaN,
    rank: hasTarget ? greater + 1 : 0,
    entropyBits: Math.max(0, entropyNats) / Math.LN2,
  };
}
