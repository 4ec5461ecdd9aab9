/**
 * Two models on the same text, compared word by word. Their tokenizers differ, so tokens
 * cannot be matched; words can. A word is what `heatUnits.wordUnits` colours (a run of
 * letters, digits and marks, or of other non-space characters), and its surprisal under a
 * model is the sum of the surprisal of that model's tokens whose last non-space character
 * falls inside it. Both models' words come from the same text, so they are the same ranges
 * in the same order; every scored token counts for exactly one word (or for none, when it
 * is only whitespace).
 *
 * The difference is second minus first, in bits: positive where the second model needed
 * more bits (found the word less expected), negative where it needed fewer. The heatmap's
 * difference mode colours it on a diverging scale (`differenceStep`).
 */
import { wordUnits, type HeatUnits } from './heatUnits';
import type { DocumentScores } from './types';
import type { DocumentSummary } from './summary';

export interface WordComparison {
  readonly count: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Surprisal of each word under the first and the second model, bits; NaN when unscored. */
  readonly bitsA: Float64Array;
  readonly bitsB: Float64Array;
  /** bitsB - bitsA; NaN when either is. */
  readonly difference: Float64Array;
  /** The words as each model's heatmap units (ranks and token spans included). */
  readonly unitsA: HeatUnits;
  readonly unitsB: HeatUnits;
}

/** Compares two scorings of the same `text` word by word. */
export function compareWords(text: string, first: DocumentScores, second: DocumentScores, unitsA = wordUnits(text, first), unitsB = wordUnits(text, second)): WordComparison {
  if (unitsA.count !== unitsB.count) throw new Error('the two scorings are not of the same text');
  const count = unitsA.count;
  const difference = new Float64Array(count);
  for (let u = 0; u < count; u++) difference[u] = unitsB.bits[u]! - unitsA.bits[u]!;
  return { count, starts: unitsA.starts, ends: unitsA.ends, bitsA: unitsA.bits, bitsB: unitsB.bits, difference, unitsA, unitsB };
}

/** Steps of the diverging scale on each side of "about the same": |difference| from these bits on. */
export const DIFFERENCE_EDGES_BITS: readonly number[] = [1, 3, 6];
/** Steps per side; the scale runs from -DIFFERENCE_SIDE_STEPS to +DIFFERENCE_SIDE_STEPS, 0 uncoloured. */
export const DIFFERENCE_SIDE_STEPS = DIFFERENCE_EDGES_BITS.length;

/** The signed step of a difference: 0 within 1 bit either way, then ±1, ±2, ±3 from 1, 3 and 6 bits (NaN: 0). */
export function differenceStep(bits: number): number {
  if (Number.isNaN(bits)) return 0;
  let step = 0;
  while (step < DIFFERENCE_SIDE_STEPS && Math.abs(bits) >= DIFFERENCE_EDGES_BITS[step]!) step++;
  return bits < 0 && step > 0 ? -step : step;
}

/** The difference scale's key, from the most negative step to the most positive. */
export function differenceLegend(): { step: number; label: string }[] {
  const out: { step: number; label: string }[] = [];
  const range = (s: number) => {
    const low = DIFFERENCE_EDGES_BITS[s - 1]!;
    const high = DIFFERENCE_EDGES_BITS[s];
    return high === undefined ? `${low} or more bits` : `${low}-${high} bits`;
  };
  for (let s = DIFFERENCE_SIDE_STEPS; s >= 1; s--) out.push({ step: -s, label: `second model: ${range(s)} fewer` });
  out.push({ step: 0, label: `within ${DIFFERENCE_EDGES_BITS[0]} bit either way` });
  for (let s = 1; s <= DIFFERENCE_SIDE_STEPS; s++) out.push({ step: s, label: `second model: ${range(s)} more` });
  return out;
}

/** Document-level figures of a comparison. */
export interface ComparisonSummary {
  readonly words: number;
  /** Words scored by both models. */
  readonly comparedWords: number;
  /** Words where the second model needed more / fewer bits than the first (by at least DIFFERENCE_EDGES_BITS[0]). */
  readonly harderForSecond: number;
  readonly easierForSecond: number;
  /** Sum of bitsB - bitsA over the compared words. */
  readonly totalDifferenceBits: number;
  readonly first: DocumentSummary;
  readonly second: DocumentSummary;
}

export function summariseComparison(comparison: WordComparison, first: DocumentSummary, second: DocumentSummary): ComparisonSummary {
  let compared = 0;
  let harder = 0;
  let easier = 0;
  let total = 0;
  for (let u = 0; u < comparison.count; u++) {
    const d = comparison.difference[u]!;
    if (Number.isNaN(d)) continue;
    compared++;
    total += d;
    const step = differenceStep(d);
    if (step > 0) harder++;
    else if (step < 0) easier++;
  }
  return { words: comparison.count, comparedWords: compared, harderForSecond: harder, easierForSecond: easier, totalDifferenceBits: total, first, second };
}
