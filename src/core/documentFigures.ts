/**
 * The figures of a scored document shown in the panel: GLTR rank buckets, a surprisal
 * histogram in the heatmap's own bins, and a sparkline of surprisal along the text.
 */
import { rankBucket, SURPRISAL_STEPS, surprisalBin, surprisalBinEdges } from './colorBins';
import type { DocumentScores } from './types';

export interface RankBucket {
  readonly label: string;
  readonly count: number;
}

export interface HistogramBin {
  readonly fromBits: number;
  /** Infinity for the last, open bin. */
  readonly toBits: number;
  readonly count: number;
}

export interface SparkPoint {
  /** The token shown for this point (the most surprising one of the stretch it stands for). */
  readonly tokenIndex: number;
  readonly bits: number;
}

const LN2 = Math.LN2;
export const MAX_SPARK_POINTS = 240;

/**
 * GLTR's rank buckets, a histogram of surprisal in the heatmap's own colour bins (so it is
 * also the colour legend, in bits) and a sparkline of surprisal along the document.
 */
export function documentFigures(
  scores: Pick<DocumentScores, 'tokenCount' | 'logprobs' | 'ranks'>,
  rankThresholds: readonly [number, number, number],
  maxSurprisalBits: number,
): { rankBuckets: RankBucket[]; histogram: HistogramBin[]; sparkline: SparkPoint[] } {
  const [a, b, c] = rankThresholds;
  const rankCounts = [0, 0, 0, 0];
  const binCounts = new Array<number>(SURPRISAL_STEPS).fill(0);
  for (let i = 0; i < scores.tokenCount; i++) {
    const rank = scores.ranks[i]!;
    if (rank > 0) rankCounts[rankBucket(rank, rankThresholds)]!++;
    const lp = scores.logprobs[i]!;
    if (!Number.isNaN(lp)) binCounts[surprisalBin(-lp / LN2, maxSurprisalBits)]!++;
  }
  const rankBuckets = [
    { label: `top ${a}`, count: rankCounts[0]! },
    { label: `top ${b}`, count: rankCounts[1]! },
    { label: `top ${c}`, count: rankCounts[2]! },
    { label: `beyond ${c}`, count: rankCounts[3]! },
  ];
  const histogram = binCounts.map((count, i) => {
    const [fromBits, toBits] = surprisalBinEdges(i, maxSurprisalBits);
    return { fromBits, toBits, count };
  });
  const sparkline: SparkPoint[] = [];
  const chunk = Math.max(1, Math.ceil(scores.tokenCount / MAX_SPARK_POINTS));
  for (let from = 0; from < scores.tokenCount; from += chunk) {
    let best = -1;
    let bestBits = -Infinity;
    for (let i = from; i < Math.min(scores.tokenCount, from + chunk); i++) {
      const lp = scores.logprobs[i]!;
      if (!Number.isNaN(lp) && -lp / LN2 > bestBits) {
        bestBits = -lp / LN2;
        best = i;
      }
    }
    if (best >= 0) sparkline.push({ tokenIndex: best, bits: bestBits });
  }
  return { rankBuckets, histogram, sparkline };
}
