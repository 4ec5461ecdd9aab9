/**
 * What the heatmap colours: tokens as the model sees them, or words as a reader does.
 *
 * A **word** is a maximal run of letters, digits, combining marks and connector
 * punctuation (`_`), with `'` or `’` allowed between two of them ("don't"); any other
 * maximal run of non-whitespace characters (punctuation, symbols: `));`, `—`) is a unit
 * of its own. Whitespace belongs to no unit, so indentation and the space before a word are
 * never coloured. A unit's surprisal is the sum of the surprisal of the tokens whose last
 * non-whitespace character falls inside it (a token holding only part of a character, with
 * an empty range, counts with the next token); tokens made only of whitespace are shown at
 * token level only. A unit with no token ending in it, or with an unscored token, is not
 * coloured.
 */
import type { DocumentScores } from './types';

export type Granularity = 'word' | 'token';

/** Coloured units in document order, in columns. */
export interface HeatUnits {
  readonly count: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Total surprisal in bits; NaN when unscored. */
  readonly bits: Float64Array;
  /** The highest rank among the unit's tokens (rank mode colours by its least expected piece); 0 when unscored. */
  readonly ranks: Int32Array;
  /** The tokens counted in the unit: `firstToken` to `lastToken` inclusive (-1 when none). */
  readonly firstToken: Int32Array;
  readonly lastToken: Int32Array;
}

const UNIT = /[\p{L}\p{N}\p{M}\p{Pc}]+(?:['\u2019][\p{L}\p{N}\p{M}\p{Pc}]+)*|[^\s\p{L}\p{N}\p{M}\p{Pc}]+/gu;
const WHITESPACE = /\s/;

/** The words (and symbol runs) of a text, as [start, end) UTF-16 ranges. */
export function wordRanges(text: string): { starts: Int32Array; ends: Int32Array } {
  const starts: number[] = [];
  const ends: number[] = [];
  for (const match of text.matchAll(UNIT)) {
    const start = match.index;
    const end = start + match[0].length;
    starts.push(start);
    ends.push(end);
  }
  return { starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

/** One unit per token with a non-empty range (the token-level heatmap). */
export function tokenUnits(scores: DocumentScores): HeatUnits {
  const kept: number[] = [];
  for (let i = 0; i < scores.tokenCount; i++) if (scores.starts[i]! < scores.ends[i]!) kept.push(i);
  const n = kept.length;
  const units = allocate(n);
  kept.forEach((token, u) => {
    units.starts[u] = scores.starts[token]!;
    units.ends[u] = scores.ends[token]!;
    const lp = scores.logprobs[token]!;
    units.bits[u] = Number.isNaN(lp) ? NaN : -lp / Math.LN2;
    units.ranks[u] = scores.ranks[token]!;
    units.firstToken[u] = token;
    units.lastToken[u] = token;
  });
  return units;
}

/** One unit per word or symbol run of `text` (see the module comment). */
export function wordUnits(text: string, scores: DocumentScores): HeatUnits {
  const { starts, ends } = wordRanges(text);
  const units = allocate(starts.length);
  units.starts.set(starts);
  units.ends.set(ends);
  units.firstToken.fill(-1);
  units.lastToken.fill(-1);
  let unit = 0;
  let pendingBits = 0;
  let pendingRank = 0;
  for (let i = 0; i < scores.tokenCount; i++) {
    const lp = scores.logprobs[i]!;
    const bits = Number.isNaN(lp) ? NaN : -lp / Math.LN2;
    const start = scores.starts[i]!;
    let last = scores.ends[i]! - 1;
    if (last < start) {
      // Part of a character: its surprisal goes with the token that completes it.
      pendingBits += bits;
      pendingRank = Math.max(pendingRank, scores.ranks[i]!);
      continue;
    }
    while (last >= start && isWhitespaceAt(text, last)) last--;
    if (last < start) {
      pendingBits = 0;
      pendingRank = 0;
      continue;
    }
    while (unit < starts.length && ends[unit]! <= last) unit++;
    if (unit < starts.length && starts[unit]! <= last) {
      if (units.firstToken[unit] === -1) units.firstToken[unit] = i;
      units.lastToken[unit] = i;
      units.bits[unit] += bits + pendingBits;
      units.ranks[unit] = Math.max(units.ranks[unit]!, scores.ranks[i]!, pendingRank);
    }
    pendingBits = 0;
    pendingRank = 0;
  }
  for (let u = 0; u < starts.length; u++) {
    if (units.firstToken[u] === -1) units.bits[u] = NaN;
    if (Number.isNaN(units.bits[u]!)) units.ranks[u] = 0;
  }
  return units;
}

/** Index of the first unit whose range ends after `offset` (count if none). */
export function firstUnitEndingAfter(units: Pick<HeatUnits, 'count' | 'ends'>, offset: number): number {
  let low = 0;
  let high = units.count;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (units.ends[mid]! <= offset) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The unit whose range contains `offset`, if any. */
export function unitAt(units: HeatUnits, offset: number): number | undefined {
  const u = firstUnitEndingAfter(units, offset);
  return u < units.count && units.starts[u]! <= offset ? u : undefined;
}

function isWhitespaceAt(text: string, index: number): boolean {
  return WHITESPACE.test(text.charAt(index));
}

function allocate(n: number): HeatUnits & { starts: Int32Array; ends: Int32Array; bits: Float64Array; ranks: Int32Array; firstToken: Int32Array; lastToken: Int32Array } {
  return {
    count: n,
    starts: new Int32Array(n),
    ends: new Int32Array(n),
    bits: new Float64Array(n),
    ranks: new Int32Array(n),
    firstToken: new Int32Array(n),
    lastToken: new Int32Array(n),
  };
}
