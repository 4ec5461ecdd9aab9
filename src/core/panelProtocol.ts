/**
 * Messages between the extension host and the Next-Word Distribution webview, one union per
 * direction, plus the pure helpers both sides share: validation of what the webview sends,
 * the temperature re-weighting, and the document view's figures and token table.
 *
 * Imported by the webview bundle (browser) and the extension host, so its only runtime
 * import is the pure colour binning shared with the heatmap.
 */
import { rankBucket, SURPRISAL_BINS, surprisalBin, surprisalBinEdges } from './colorBins';
import type { DocumentScores } from './engine';
import type { DocumentSummary } from './summary';

export type PanelMode = 'words' | 'tokens';
export type ExportFormat = 'csv' | 'json';

export interface PanelCandidate {
  /** The whole word (or token) as it reads after the conditioned text. */
  readonly text: string;
  /** What inserting it types at the cursor; '' when it cannot be inserted. */
  readonly completion: string;
  readonly prob: number;
}

// ---- host -> webview ----

export interface WordsMessage {
  readonly type: 'words';
  /** Identifies this list; an insert names the list it picked from. */
  readonly requestId: number;
  readonly mode: PanelMode;
  readonly candidates: readonly PanelCandidate[];
  readonly entropyBits: number;
  readonly contextTail: string;
  readonly partial: string;
  readonly midWord: boolean;
  readonly endsHereProb: number;
  readonly exact: boolean;
  readonly truncated: boolean;
  readonly fileName: string;
  /** 0-based position of the cursor the list is for. */
  readonly line: number;
  readonly character: number;
  readonly elapsedMs: number;
}

export interface StatusMessage {
  readonly type: 'status';
  readonly state: 'loading' | 'working' | 'ready' | 'error' | 'noEditor';
  readonly message: string;
}

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

export interface DocumentViewMessage {
  readonly type: 'document';
  readonly fileName: string;
  readonly version: number;
  readonly modelName: string;
  readonly tokenCount: number;
  readonly summary: DocumentSummary;
  readonly rankBuckets: readonly RankBucket[];
  readonly histogram: readonly HistogramBin[];
  readonly sparkline: readonly SparkPoint[];
}

export interface NoDocumentMessage {
  readonly type: 'noDocument';
  readonly reason: string;
}

export type ToPanel = WordsMessage | StatusMessage | DocumentViewMessage | NoDocumentMessage;

// ---- webview -> host ----

export interface ReadyMessage {
  readonly type: 'ready';
  /** The mode the webview restored from its saved state. */
  readonly mode: PanelMode;
}
export interface InsertMessage {
  readonly type: 'insert';
  readonly requestId: number;
  readonly index: number;
  /** The candidate's `completion`, checked against what the host sent. */
  readonly text: string;
}
export interface RevealMessage {
  readonly type: 'reveal';
  readonly tokenIndex: number;
}
export interface SetModeMessage {
  readonly type: 'setMode';
  readonly mode: PanelMode;
}
export interface ExportMessage {
  readonly type: 'export';
  readonly format: ExportFormat;
}
export interface RefreshMessage {
  readonly type: 'refresh';
}

export type FromPanel = ReadyMessage | InsertMessage | RevealMessage | SetModeMessage | ExportMessage | RefreshMessage;

const MAX_INSERT_LENGTH = 1000;

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
function isMode(value: unknown): value is PanelMode {
  return value === 'words' || value === 'tokens';
}

/** A well-formed message from the webview, or undefined (anything else is ignored). */
export function parseFromPanel(raw: unknown): FromPanel | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return { type: 'ready', mode: isMode(m.mode) ? m.mode : 'words' };
    case 'insert':
      if (!isIndex(m.requestId) || !isIndex(m.index) || typeof m.text !== 'string' || m.text.length === 0 || m.text.length > MAX_INSERT_LENGTH) return undefined;
      return { type: 'insert', requestId: m.requestId, index: m.index, text: m.text };
    case 'reveal':
      return isIndex(m.tokenIndex) ? { type: 'reveal', tokenIndex: m.tokenIndex } : undefined;
    case 'setMode':
      return isMode(m.mode) ? { type: 'setMode', mode: m.mode } : undefined;
    case 'export':
      return m.format === 'csv' || m.format === 'json' ? { type: 'export', format: m.format } : undefined;
    case 'refresh':
      return { type: 'refresh' };
    default:
      return undefined;
  }
}

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

// ---- the document view ----

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
  const binCounts = new Array<number>(SURPRISAL_BINS).fill(0);
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

export interface TokenRow {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly tokenId: number;
  readonly token: string;
  readonly logprob: number | null;
  readonly surprisalBits: number | null;
  readonly rank: number | null;
  readonly entropyBits: number | null;
  readonly top: { readonly token: string; readonly prob: number }[];
}

/** One row per token: where it is, what it reads, and how the model scored it. */
export function tokenRows(scores: DocumentScores, text: string, tokenText: (id: number) => string): TokenRow[] {
  const rows: TokenRow[] = [];
  for (let i = 0; i < scores.tokenCount; i++) {
    const lp = scores.logprobs[i]!;
    const scored = !Number.isNaN(lp);
    const top: { token: string; prob: number }[] = [];
    for (let j = 0; j < scores.topK; j++) {
      const id = scores.topIds[i * scores.topK + j]!;
      if (id >= 0 && scored) top.push({ token: tokenText(id), prob: scores.topProbs[i * scores.topK + j]! });
    }
    rows.push({
      index: i,
      start: scores.starts[i]!,
      end: scores.ends[i]!,
      text: text.slice(scores.starts[i]!, scores.ends[i]!),
      tokenId: scores.ids[i]!,
      token: tokenText(scores.ids[i]!),
      logprob: scored ? lp : null,
      surprisalBits: scored ? -lp / LN2 : null,
      rank: scored ? scores.ranks[i]! : null,
      entropyBits: scored ? scores.entropies[i]! : null,
      top,
    });
  }
  return rows;
}

/**
 * RFC 4180 CSV. Text cells that a spreadsheet would run as a formula (= + - @ at the start)
 * get a leading apostrophe.
 */
export function tokenRowsCsv(rows: readonly TokenRow[]): string {
  const text = (value: string) => {
    const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n']/.test(safe) || safe !== safe.trim() ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const num = (value: number | null) => (value === null ? '' : String(value));
  const header = 'index,start,end,text,token_id,token,logprob,surprisal_bits,rank,entropy_bits,top1,top1_prob';
  const lines = rows.map((r) =>
    [r.index, r.start, r.end, text(r.text), r.tokenId, text(r.token), num(r.logprob), num(r.surprisalBits), num(r.rank), num(r.entropyBits), text(r.top[0]?.token ?? ''), num(r.top[0]?.prob ?? null)].join(','),
  );
  return `${[header, ...lines].join('\r\n')}\r\n`;
}
