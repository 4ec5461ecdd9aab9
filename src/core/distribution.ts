/**
 * Statistics of one predicted distribution, computed straight from a logits row without
 * materialising the probabilities: log-prob and rank of the actual token, entropy, top-k.
 */

export const LN2 = Math.LN2;

export interface RowStats {
  /** ln P(target); NaN when there is no target. */
  logprob: number;
  /** 1 = the model's top choice (tokens with a strictly larger logit, plus one). */
  rank: number;
  /** Entropy of the whole row's distribution, in bits. */
  entropyBits: number;
}

/**
 * Analyses `logits[offset .. offset + width)`.
 *
 * @param displayableVocab ids at or above it (padding rows some exports have) count in the
 *   normalisation, as the model defines the distribution, but are never listed in top-k
 * @param topIds / topProbs receive the k most likely ids, most likely first
 */
export function analyseRow(
  logits: Float32Array,
  offset: number,
  width: number,
  target: number,
  displayableVocab: number,
  topIds: Int32Array,
  topProbs: Float32Array,
  topOffset: number,
  k: number,
): RowStats {
  let max = -Infinity;
  for (let i = offset, end = offset + width; i < end; i++) {
    const x = logits[i]!;
    if (x > max) max = x;
  }
  let sumExp = 0;
  let sumExpX = 0;
  for (let i = offset, end = offset + width; i < end; i++) {
    const shifted = logits[i]! - max;
    const e = Math.exp(shifted);
    sumExp += e;
    sumExpX += e * shifted;
  }
  const logZ = Math.log(sumExp); // relative to max
  // H = log Z - E[x] (all relative to max), in nats
  const entropyNats = logZ - sumExpX / sumExp;

  let logprob = NaN;
  let rank = 0;
  if (target >= 0 && target < width) {
    const targetLogit = logits[offset + target]!;
    logprob = targetLogit - max - logZ;
    let greater = 0;
    for (let i = offset, end = offset + width; i < end; i++) if (logits[i]! > targetLogit) greater++;
    rank = greater + 1;
  }

  // Top-k by insertion into a small sorted buffer (k is tiny next to the vocabulary).
  const limit = Math.min(k, displayableVocab, width);
  let filled = 0;
  for (let id = 0; id < Math.min(width, displayableVocab); id++) {
    const x = logits[offset + id]!;
    if (filled === limit && x <= logits[offset + topIds[topOffset + limit - 1]!]!) continue;
    let position = filled < limit ? filled++ : limit - 1;
    while (position > 0 && logits[offset + topIds[topOffset + position - 1]!]! < x) {
      topIds[topOffset + position] = topIds[topOffset + position - 1]!;
      position--;
    }
    topIds[topOffset + position] = id;
  }
  for (let j = 0; j < limit; j++) topProbs[topOffset + j] = Math.exp(logits[offset + topIds[topOffset + j]!]! - max - logZ);
  for (let j = limit; j < k; j++) {
    topIds[topOffset + j] = -1;
    topProbs[topOffset + j] = 0;
  }
  return { logprob, rank, entropyBits: Math.max(0, entropyNats) / LN2 };
}
