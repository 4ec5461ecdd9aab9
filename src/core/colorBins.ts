/**
 * Which colour bucket a token falls in: a continuous surprisal scale cut into
 * `SURPRISAL_BINS` steps, or GLTR's rank buckets (top-10 / top-100 / top-1000 / beyond).
 */
import type { DocumentScores } from './types';

export const SURPRISAL_BINS = 8;
export const RANK_BUCKETS = 4;

/** Bin of a surprisal value: bin b covers [b, b + 1) * maxBits / SURPRISAL_BINS; the last is open-ended. */
export function surprisalBin(bits: number, maxBits: number): number {
  if (!(bits > 0)) return 0;
  return Math.min(SURPRISAL_BINS - 1, Math.floor((bits / maxBits) * SURPRISAL_BINS));
}

/** 0: rank <= t[0]; 1: <= t[1]; 2: <= t[2]; 3: beyond. */
export function rankBucket(rank: number, thresholds: readonly [number, number, number]): number {
  if (rank <= thresholds[0]) return 0;
  if (rank <= thresholds[1]) return 1;
  if (rank <= thresholds[2]) return 2;
  return 3;
}

/** Lower and upper edge (bits) of a surprisal bin, for legends. */
export function surprisalBinEdges(bin: number, maxBits: number): [number, number] {
  const width = maxBits / SURPRISAL_BINS;
  return [bin * width, bin === SURPRISAL_BINS - 1 ? Infinity : (bin + 1) * width];
}

export type ColorScheme =
  | { readonly mode: 'surprisal'; readonly maxBits: number }
  | { readonly mode: 'rank'; readonly thresholds: readonly [number, number, number] };

/**
 * Groups the tokens of `[fromToken, toToken)` by bucket; unscored tokens and tokens with
 * empty ranges are left out. Returns token indices per bucket.
 */
export function bucketTokens(scores: DocumentScores, scheme: ColorScheme, fromToken = 0, toToken = scores.tokenCount): number[][] {
  const count = scheme.mode === 'surprisal' ? SURPRISAL_BINS : RANK_BUCKETS;
  const buckets: number[][] = Array.from({ length: count }, () => []);
  for (let i = Math.max(0, fromToken); i < Math.min(toToken, scores.tokenCount); i++) {
    const lp = scores.logprobs[i]!;
    if (Number.isNaN(lp) || scores.starts[i] === scores.ends[i]) continue;
    const bucket = scheme.mode === 'surprisal' ? surprisalBin(-lp / Math.LN2, scheme.maxBits) : rankBucket(scores.ranks[i]!, scheme.thresholds);
    buckets[bucket]!.push(i);
  }
  return buckets;
}

/** What the heatmap colour of a token means, in words (for the hover and the panel). */
export function describeBucket(bits: number, rank: number, scheme: ColorScheme): string {
  if (scheme.mode === 'rank') {
    const [a, b, c] = scheme.thresholds;
    const labels = [`top ${a}`, `ranks ${a + 1}-${b}`, `ranks ${b + 1}-${c}`, `beyond rank ${c}`];
    return `rank bucket ${labels[rankBucket(rank, scheme.thresholds)]}`;
  }
  const bin = surprisalBin(bits, scheme.maxBits);
  const [low, high] = surprisalBinEdges(bin, scheme.maxBits);
  const range = Number.isFinite(high) ? `${trim(low)}-${trim(high)} bits` : `${trim(low)} bits and more`;
  return `step ${bin + 1} of ${SURPRISAL_BINS} (${range})`;
}

function trim(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
