/**
 * How the Next-Word panel picks the word it appends when it generates: the decoding rules
 * (greedy, sampling at a temperature, top-k, top-p), the renormalised shares a rule draws
 * from, and a seeded pseudo-random generator so a seed gives the same choices every time.
 *
 * The rules act on the listed candidates (the panel's next words or tokens), not on the
 * whole vocabulary: the model's distribution beyond the list is not known to the panel. In
 * the order of Hugging Face's `generate`: the list is re-weighted at the temperature
 * (p^(1/T), renormalised over the list), then top-k keeps the k most probable, top-p the
 * fewest most probable whose re-weighted mass reaches p; the kept shares are renormalised
 * and one is drawn. Greedy ignores the temperature and keeps the most probable.
 *
 * Pure and runtime-import free apart from `temperature`: used by the host (drawing) and by
 * the webview (showing what a rule keeps).
 */
import { temperedShares } from './temperature';

export type GenerationRuleKind = 'greedy' | 'sample' | 'topK' | 'topP';
export const GENERATION_RULE_KINDS: readonly GenerationRuleKind[] = ['greedy', 'sample', 'topK', 'topP'];

/** What a generation step is configured with (the panel's controls). */
export interface GenerationRule {
  readonly kind: GenerationRuleKind;
  /** Top-k: how many candidates are kept (1 or more). */
  readonly k: number;
  /** Top-p: the mass the kept candidates reach, in (0, 1]. */
  readonly p: number;
  /** Sampling, top-k and top-p re-weight the list at this temperature first. */
  readonly temperature: number;
  /** Seeds the draws: the same seed from the same text gives the same words. */
  readonly seed: number;
}

/** The candidates a rule keeps and the renormalised shares it draws from. */
export interface KeptCandidates {
  /** Indices into the candidate list, most probable first. */
  readonly indices: readonly number[];
  /** The share of each kept candidate (same order as `indices`); they sum to 1. */
  readonly shares: readonly number[];
}

/**
 * Candidates ordered by probability, most probable first; equal probabilities keep list
 * order, so a tie is always broken the same way.
 */
function byProbability(probs: readonly number[]): number[] {
  return probs.map((_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
}

/**
 * What `rule` keeps of candidates with probabilities `probs` (not necessarily summing to 1),
 * and the shares it draws from. Candidates with probability 0 are never kept; with none
 * left, nothing is.
 */
export function keptCandidates(probs: readonly number[], rule: GenerationRule): KeptCandidates {
  const order = byProbability(probs).filter((i) => probs[i]! > 0);
  if (order.length === 0) return { indices: [], shares: [] };
  if (rule.kind === 'greedy') return { indices: [order[0]!], shares: [1] };
  const tempered = temperedShares(probs, rule.temperature);
  let kept = order;
  if (rule.kind === 'topK') {
    kept = order.slice(0, Math.max(1, Math.floor(rule.k)));
  } else if (rule.kind === 'topP') {
    const p = Math.min(1, Math.max(Number.MIN_VALUE, rule.p));
    let mass = 0;
    let count = 0;
    // The fewest candidates whose mass reaches p (a relative tolerance absorbs rounding).
    while (count < order.length && mass < p * (1 - 1e-12)) mass += tempered[order[count++]!]!;
    kept = order.slice(0, Math.max(1, count));
  }
  const total = kept.reduce((sum, i) => sum + tempered[i]!, 0);
  if (!(total > 0)) return { indices: [order[0]!], shares: [1] };
  return { indices: kept, shares: kept.map((i) => tempered[i]! / total) };
}

/** The kept candidate a uniform number in [0, 1) picks: cumulative shares, in kept order. */
export function drawKept(kept: KeptCandidates, uniform: number): number {
  if (kept.indices.length === 0) throw new RangeError('no candidate to draw from');
  let cumulative = 0;
  for (let i = 0; i < kept.indices.length; i++) {
    cumulative += kept.shares[i]!;
    if (uniform < cumulative) return kept.indices[i]!;
  }
  // Rounding left the sum just under 1.
  return kept.indices[kept.indices.length - 1]!;
}

/**
 * Mulberry32: a small, fast 32-bit generator with a full 2^32 period, good enough for
 * choosing words (not for cryptography). Returns numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The uniform number drawn for step `step` (0-based, counted from the start of the
 * history) under `seed`: a function of both alone, so undoing a step and stepping again
 * draws the same number, and a run from the same text with the same seed repeats.
 */
export function stepUniform(seed: number, step: number): number {
  // Mix the step into the seed (the golden-ratio constant spreads neighbouring steps apart).
  const mixed = (Math.imul((step >>> 0) + 1, 0x9e3779b9) ^ (seed >>> 0)) >>> 0;
  const random = seededRandom(mixed);
  random(); // the first output of a nearby state correlates with it
  return random();
}

/** One generation step: which candidate the rule picked, and from what. */
export interface GenerationChoice {
  /** Index of the chosen candidate in the list. */
  readonly index: number;
  /** 1-based rank of the chosen candidate by probability among the listed ones. */
  readonly rank: number;
  /** Its share in the distribution drawn from. */
  readonly share: number;
  readonly kept: KeptCandidates;
}

/** Applies `rule` to the candidates for step `step` (its draw seeded by `rule.seed`). */
export function chooseCandidate(probs: readonly number[], rule: GenerationRule, step: number): GenerationChoice | undefined {
  const kept = keptCandidates(probs, rule);
  if (kept.indices.length === 0) return undefined;
  const index = rule.kind === 'greedy' ? kept.indices[0]! : drawKept(kept, stepUniform(rule.seed, step));
  const rank = byProbability(probs).indexOf(index) + 1;
  return { index, rank, share: kept.shares[kept.indices.indexOf(index)]!, kept };
}
