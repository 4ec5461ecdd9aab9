/**
 * Which colour step a token or word falls in: surprisal cut into `SURPRISAL_STEPS` steps
 * (step 0, the expected ones, is left uncoloured), or GLTR's rank buckets (top-10 / top-100
 * / top-1000 / beyond; top-10 uncoloured). Each step is more salient than the one before;
 * the colours themselves are in `heatmapColors.ts`.
 */
import type { DocumentScores } from './types';

/** Steps of the surprisal scale; 0 is "expected" and left uncoloured by default. */
export const SURPRISAL_STEPS = 6;
export const RANK_BUCKETS = 4;
/** Where the scale tops out by default: steps of 3 bits (expected = more than 1 chance in 8). */
export const DEFAULT_MAX_SURPRISAL_BITS = 18;

/** Step of a surprisal value: step s covers [s, s + 1) * maxBits / SURPRISAL_STEPS; the last is open-ended. */
export function surprisalBin(bits: number, maxBits: number): number {
  if (!(bits > 0)) return 0;
  return Math.min(SURPRISAL_STEPS - 1, Math.floor((bits / maxBits) * SURPRISAL_STEPS));
}

/** 0: rank <= t[0]; 1: <= t[1]; 2: <= t[2]; 3: beyond. */
export function rankBucket(rank: number, thresholds: readonly [number, number, number]): number {
  if (rank <= thresholds[0]) return 0;
  if (rank <= thresholds[1]) return 1;
  if (rank <= thresholds[2]) return 2;
  return 3;
}

/** Lower and upper edge (bits) of a surprisal step, for legends. */
export function surprisalBinEdges(bin: number, maxBits: number): [number, number] {
  const width = maxBits / SURPRISAL_STEPS;
  return [bin * width, bin === SURPRISAL_STEPS - 1 ? Infinity : (bin + 1) * width];
}

export type ColorScheme =
  | { readonly mode: 'surprisal'; readonly maxBits: number }
  | { readonly mode: 'rank'; readonly thresholds: readonly [number, number, number] };

/** The step a unit with this surprisal and rank gets under the scheme. */
export function stepOf(bits: number, rank: number, scheme: ColorScheme): number {
  return scheme.mode === 'surprisal' ? surprisalBin(bits, scheme.maxBits) : rankBucket(rank, scheme.thresholds);
}

/**
 * Groups the tokens of `[fromToken, toToken)` by step; unscored tokens and tokens with
 * empty ranges are left out. Returns token indices per step.
 */
export function bucketTokens(scores: DocumentScores, scheme: ColorScheme, fromToken = 0, toToken = scores.tokenCount): number[][] {
  const count = scheme.mode === 'surprisal' ? SURPRISAL_STEPS : RANK_BUCKETS;
  const buckets: number[][] = Array.from({ length: count }, () => []);
  for (let i = Math.max(0, fromToken); i < Math.min(toToken, scores.tokenCount); i++) {
    const lp = scores.logprobs[i]!;
    // Unscored, empty, or (rank mode) without a rank: a server may not report ranks.
    if (Number.isNaN(lp) || scores.starts[i] === scores.ends[i] || (scheme.mode === 'rank' && scores.ranks[i] === 0)) continue;
    buckets[stepOf(-lp / Math.LN2, scores.ranks[i]!, scheme)]!.push(i);
  }
  return buckets;
}

/** One legend entry per step of the scheme: its label (bit range or rank bucket). */
export function legend(scheme: ColorScheme): { step: number; label: string }[] {
  if (scheme.mode === 'rank') {
    const [a, b, c] = scheme.thresholds;
    return [`top ${a}`, `ranks ${a + 1}-${b}`, `ranks ${b + 1}-${c}`, `beyond rank ${c}`].map((label, step) => ({ step, label }));
  }
  return Array.from({ length: SURPRISAL_STEPS }, (_, step) => {
    const [low, high] = surprisalBinEdges(step, scheme.maxBits);
    return { step, label: Number.isFinite(high) ? `${trim(low)}-${trim(high)} bits` : `${trim(low)} bits and more` };
  });
}

/** What the heatmap colour of a token means, in words (for the hover and the panel). */
export function describeBucket(bits: number, rank: number, scheme: ColorScheme): string {
  const step = stepOf(bits, rank, scheme);
  const label = legend(scheme)[step]!.label;
  if (scheme.mode === 'rank') return `rank bucket ${label}${step === 0 ? ' (uncoloured)' : ''}`;
  return step === 0 ? `expected, ${label} (uncoloured)` : `step ${step} of ${SURPRISAL_STEPS - 1} (${label})`;
}

function trim(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
