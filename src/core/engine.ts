/**
 * The scoring engine: a model folder's tokenizer + ONNX graph, scoring every token of a
 * text with ln P(token | everything before it), its rank, the entropy of the prediction and
 * the top-k alternatives. Pure Node (no `vscode`), used by the worker and the CLI.
 */
import { availableParallelism } from 'node:os';
import { analyseRow } from './distribution';
import { ModelFolderError, readModelFolder, type ModelFolder } from './modelFolder';
import { OnnxCausalLm, sliceCache, type KvCache } from './onnxModel';
import type { OptimizedGraphCache } from './optimizedGraphCache';
import { findScoreHead, ScoreHead, type RowStatistics } from './scoreHead';
import { summarise } from './summary';
import { TextTokenizer, type TokenizedText } from './textTokenizer';
import { CancelledError, type Cancellation, type DocumentScores, type ModelInfo, type NextTokens } from './types';


export interface LoadOptions {
  /** ONNX Runtime intra-op threads; 0 or absent: `defaultThreads()`. */
  readonly threads?: number;
  /** Caps the window (tokens); 0 or absent: the model's context, as far as the window's working memory allows (`OnnxCausalLm.windowSize`). */
  readonly maxWindow?: number;
  /** A graph file inside the folder, overriding the usual search. */
  readonly graphFile?: string;
  /** The score-head graph; null computes row statistics in JavaScript. Default: found beside the code. */
  readonly scoreHead?: string | null;
  /** Let the model graph compute the row statistics itself when it can (default true; see scoringGraph.ts). */
  readonly inGraphScoring?: boolean;
  /** Where the optimized graph is kept between loads; null: never; absent: `SURPRISAL_LENS_GRAPH_CACHE`. */
  readonly graphCache?: OptimizedGraphCache | null;
  /** Full windows per ONNX run with in-graph scoring (default: see `MAX_STATISTICS_CELLS`); for benchmarks. */
  readonly windowsPerRun?: number;
  /** Window tokens x graph bytes from which a priority window is previewed (default `PREVIEW_MIN_WORK`); for tests. */
  readonly previewMinWork?: number;
  /** Tokens x graph bytes of a preview's first stage (default `PREVIEW_FIRST_STAGE_WORK`); for tests. */
  readonly previewFirstStageWork?: number;
}



export interface ScoreOptions {
  readonly topK?: number;
  /** Window length in tokens (including BOS); defaults to the model's window size. */
  readonly windowSize?: number;
  /** New tokens per window after the first; defaults to half the window. */
  readonly stride?: number;
  readonly cancellation?: Cancellation;
  readonly onProgress?: (scoredTokens: number, totalTokens: number) => void;
  /**
   * A character range to score first (the visible part of the editor); `onPartial` gets the
   * scores once it is done, with the tokens not yet scored as NaN. Its arrays are the ones
   * still being filled: copy what must be kept.
   */
  readonly priority?: { readonly start: number; readonly end: number };
  readonly onPartial?: (partial: DocumentScores) => void;
  /**
   * An earlier scoring of the same document with the same options. Tokens before the first
   * token that differs keep their scores: a causal model's prediction for them cannot
   * depend on anything after them.
   */
  readonly previous?: DocumentScores;
}


/** Where a search over continuations stands (see `LanguageModel.step`). */
export interface ContinuationState {
  /** Every id run so far, BOS included. */
  readonly ids: readonly number[];
  readonly cache: KvCache | null;
  /** ln P(next token = i) for every id i of the logits row. */
  readonly nextLogprobs: Float32Array;
}

export const DEFAULT_TOP_K = 10;
/**
 * Intra-op threads when none are asked for: the logical CPUs, at most 4 (the model's matrix
 * products are small; more threads mostly add synchronisation). Measured on the 2-vCPU
 * machine (probe runOverhead.mts, in git history; see BENCHMARKS.md): a 256-token window took 11.5 ms on 2 threads and
 * 20.1 ms on 1 when nothing else ran, but 36 ms on 2 and 20 ms on 1 while other work kept
 * both vCPUs busy; the `surprisalLens.threads` setting is there for such machines.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * Windows of equal shape run together when the graph scores in the graph: taller matrix
 * products use the cores better. At most this many, which keeps progress, cancellation and
 * the visible-first order fine-grained...
 */
const MAX_WINDOWS_PER_RUN = 4;
/**
 * ...and at most as many as keep each full-vocabulary intermediate of the statistics (rows
 * x vocabulary floats; ONNX Runtime holds a few at once and its arena keeps the peak) under
 * 4 MB: 1 window of 129 rows for the default model's 8,192-token vocabulary, 4 for the test
 * model's 400. Measured for the default model on a quiet machine (probe memBatch.mts, in git history; see BENCHMARKS.md,
 * 8,000 tokens): 770, 740 and 752-780 ms with 1, 2 and 4 windows per run, for peak RSS
 * +45, +75-120 and +155 MB; under load the batches gained more (x1.15-1.35).
 */
const MAX_STATISTICS_CELLS = 1 << 20;

/** One window of a scoring run: document tokens [start, end), scoring [firstTarget, end). */
export interface ScoringWindow {
  readonly start: number;
  readonly end: number;
  readonly firstTarget: number;
  /** A priority window's first rows only, run early; the rest of the window continues from its key/value cache. */
  readonly preview?: boolean;
}

/**
 * The windows still to run after the first `reused` tokens, each scoring [firstTarget, end).
 * Windows sit on a fixed grid (starts 0, stride, 2*stride...), so a token is scored by the
 * same window whatever follows it; scoring resumes at the first window that scores the
 * first changed token.
 */
export function planWindows(tokenCount: number, reused: number, docPerWindow: number, stride: number, hasBos: boolean): ScoringWindow[] {
  let start = 0;
  while (start + docPerWindow < tokenCount && start + docPerWindow <= reused) start += stride;
  const windows: ScoringWindow[] = [];
  for (let scoredUpTo = reused; scoredUpTo < tokenCount; start += stride) {
    const end = Math.min(start + docPerWindow, tokenCount);
    windows.push({ start, end, firstTarget: Math.max(scoredUpTo, hasBos ? start : start + 1) });
    scoredUpTo = end;
  }
  return windows;
}

/**
 * A preview runs a priority window only as far as the visible range's end, when that is at
 * most this share of the window: with causal attention a row does not depend on the tokens
 * after it, so the preview's rows are the window's (to float rounding), and the user sees
 * them after a fraction of the window's work. The rest of the window runs later from the
 * preview's key/value cache (from its start again when the graph has none).
 */
const PREVIEW_SHARE = 0.6;

/**
 * A preview is worth its extra work only when a window is slow: window tokens x the graph's
 * bytes at least this (about 40 ms of work here). The bundled model's whole window is
 * 512 x 28.0 MB = 1.4e10: never previewed; a SmolLM2-135M window of 3,800 tokens is 2.5e12.
 */
const PREVIEW_MIN_WORK = 2e10;

/**
 * A long preview runs in two stages, both feeding the same key/value cache: first this much
 * work (tokens x graph bytes: 184 tokens of SmolLM2-135M's 652 MB, ~0.4 s here; 48 of
 * Qwen2.5-0.5B's 2.5 GB), reported at once, so the first visible lines are coloured while the
 * rest of the visible range runs. Only with a cache, and only when the rest is at least as long.
 * For a quantized graph, 4 bytes a parameter stand for its bytes (`workBytes`).
 */
const PREVIEW_FIRST_STAGE_WORK = 1.2e11;

/** Where `priorityOrder` puts the windows; the partial snapshots are reported after `reportAfter` of them. */
export interface PriorityOrder {
  readonly order: ScoringWindow[];
  /** The first `priorityCount` windows cover the priority range. */
  readonly priorityCount: number;
  /** Counts of windows after which a snapshot is reported (the first stages, then `priorityCount`). */
  readonly reportAfter: readonly number[];
}

/**
 * Windows are independent of each other, so the ones covering the priority range (what
 * the user sees) can run first, each cut short by a preview where that saves most of its
 * work, and a long preview split in two stages (`firstStageTokens`); a snapshot is reported
 * after the first stages and once the `priorityCount` windows are done.
 */
export function priorityOrder(windows: ScoringWindow[], tokens: TokenizedText, priority: ScoreOptions['priority'], allowPreviews = true, firstStageTokens = Infinity): PriorityOrder {
  if (!priority) return { order: windows, priorityCount: 0, reportAfter: [] };
  const isPriority = (w: ScoringWindow) => w.firstTarget < w.end && tokens.starts[w.firstTarget]! < priority.end && tokens.ends[w.end - 1]! > priority.start;
  const first = windows.filter(isPriority);
  const rest = windows.filter((w) => !isPriority(w));
  const firstStages: ScoringWindow[] = [];
  const previews: ScoringWindow[] = [];
  const whole: ScoringWindow[] = [];
  const previewed: ScoringWindow[] = [];
  for (const w of first) {
    // The first token that starts at or after the priority range's end.
    let cut = w.firstTarget;
    for (let hi = w.end; cut < hi; ) {
      const mid = (cut + hi) >>> 1;
      if (tokens.starts[mid]! < priority.end) cut = mid + 1;
      else hi = mid;
    }
    if (allowPreviews && cut - w.start <= PREVIEW_SHARE * (w.end - w.start)) {
      const stage = w.firstTarget + firstStageTokens;
      if (cut - stage >= firstStageTokens) {
        firstStages.push({ start: w.start, end: stage, firstTarget: w.firstTarget, preview: true });
        previews.push({ start: w.start, end: cut, firstTarget: stage, preview: true });
      } else previews.push({ start: w.start, end: cut, firstTarget: w.firstTarget, preview: true });
      previewed.push({ start: w.start, end: w.end, firstTarget: cut });
    } else whole.push(w);
  }
  const priorityCount = firstStages.length + previews.length + whole.length;
  return {
    order: [...firstStages, ...previews, ...whole, ...previewed, ...rest],
    priorityCount,
    reportAfter: firstStages.length > 0 ? [firstStages.length, priorityCount] : [priorityCount],
  };
}

/** The score columns being filled for one scoring. */
class ScoreColumns {
  readonly logprobs: Float64Array;
  readonly ranks: Int32Array;
  readonly entropies: Float32Array;
  readonly topIds: Int32Array;
  readonly topProbs: Float32Array;

  constructor(tokenCount: number, private readonly k: number) {
    this.logprobs = new Float64Array(tokenCount).fill(NaN);
    this.ranks = new Int32Array(tokenCount);
    this.entropies = new Float32Array(tokenCount).fill(NaN);
    this.topIds = new Int32Array(tokenCount * k).fill(-1);
    this.topProbs = new Float32Array(tokenCount * k);
  }

  columns() {
    const { logprobs, ranks, entropies, topIds, topProbs, k } = this;
    return { logprobs, ranks, entropies, topK: k, topIds, topProbs };
  }

  /** The first `count` tokens keep the scores of an earlier scoring with the same options. */
  copyPrefix(previous: DocumentScores, count: number): void {
    this.logprobs.set(previous.logprobs.subarray(0, count));
    this.ranks.set(previous.ranks.subarray(0, count));
    this.entropies.set(previous.entropies.subarray(0, count));
    this.topIds.set(previous.topIds.subarray(0, count * this.k));
    this.topProbs.set(previous.topProbs.subarray(0, count * this.k));
  }

  /** Copies `count` rows of statistics, from `firstRow` on, to the tokens from `firstToken` on. */
  putRows(stats: RowStatistics, firstRow: number, firstToken: number, count: number): void {
    const k = this.k;
    for (let r = 0; r < count; r++) {
      const j = firstToken + r;
      const row = firstRow + r;
      this.logprobs[j] = stats.logprobs[row]!;
      this.ranks[j] = stats.ranks[row]!;
      this.entropies[j] = stats.entropyBits[row]!;
      for (let c = 0; c < stats.k; c++) {
        this.topIds[j * k + c] = Number(stats.topIds[row * stats.k + c]!);
        this.topProbs[j * k + c] = Math.exp(stats.topLogprobs[row * stats.k + c]!);
      }
    }
  }
}

/** The keys/values of one window, kept to speed up the next edit in that window. */
interface WindowCache {
  readonly start: number;
  /** The window's input ids (BOS included). */
  readonly ids: readonly number[];
  readonly cache: KvCache;
}

export class LanguageModel {
  private disposed = false;
  /**
   * One window's cache per scoring result, found again when that result is passed back as
   * `previous`. Weak, so the cache goes when the caller drops the result.
   */
  private readonly windowCaches = new WeakMap<DocumentScores, WindowCache>();
  /** The text each result of `score` was computed from, for re-tokenizing only what changed. */
  private readonly scoredTexts = new WeakMap<DocumentScores, string>();

  private constructor(
    readonly info: ModelInfo,
    readonly tokenizer: TextTokenizer,
    private readonly graph: OnnxCausalLm,
    /** Null: statistics computed in JavaScript (`analyseRow`). */
    private readonly head: ScoreHead | null,
    /** Null: chosen per scoring from the stride and the vocabulary. */
    private readonly windowsPerRun: number | null,
    private readonly previewMinWork: number,
    private readonly previewFirstStageWork: number,
    /**
     * Bytes standing for a token's work in the preview rules: the graph's, or 4 bytes a
     * parameter where that is more (a quantized file's bytes understate its work: q8's are a
     * quarter of fp32's, its speed x1.5).
     */
    private readonly workBytes: number,
  ) {}

  static async load(path: string, options: LoadOptions = {}): Promise<LanguageModel> {
    const folder = readModelFolder(path, options.graphFile);
    let tokenizer: TextTokenizer;
    try {
      tokenizer = new TextTokenizer(folder.tokenizerJson, folder.tokenizerConfig);
    } catch (error) {
      throw new ModelFolderError('tokenizer-invalid', `tokenizer.json in ${path} cannot be used: ${(error as Error).message}`);
    }
    const graph = await OnnxCausalLm.load(folder.graphPath, folder.config, {
      intraOpThreads: options.threads || defaultThreads(),
      inGraphScoring: options.inGraphScoring,
      ...(options.graphCache !== undefined ? { graphCache: options.graphCache } : {}),
    });
    try {
      const bosTokenId = resolveBos(folder, tokenizer);
      const logitsWidth = await probeLogitsWidth(graph, bosTokenId ?? 0);
      checkVocabulary(folder, tokenizer, logitsWidth);
      // The model's context, capped by maxWindow when one is set (> 0) and by the window's working memory (OnnxCausalLm.windowSize).
      const windowSize = graph.windowSize(Math.min(folder.config.contextLength, options.maxWindow || Infinity), logitsWidth, folder.config.numAttentionHeads);
      const info: ModelInfo = {
        name: folder.name,
        path,
        modelType: folder.config.modelType,
        vocabSize: logitsWidth,
        contextLength: folder.config.contextLength,
        windowSize,
        bosTokenId,
        hasKvCache: graph.hasCache,
        inGraphScoringUnavailable: graph.inGraphScoringUnavailable,
      };
      // A graph that scores itself needs no separate statistics session.
      const headPath = graph.scoresInGraph ? null : options.scoreHead === undefined ? findScoreHead() : options.scoreHead;
      // One thread: the head's work is small, and a second thread only adds contention.
      const head = headPath ? await ScoreHead.load(headPath, 1) : null;
      return new LanguageModel(info, tokenizer, graph, head, options.windowsPerRun ? Math.max(1, Math.floor(options.windowsPerRun)) : null, options.previewMinWork ?? PREVIEW_MIN_WORK, options.previewFirstStageWork ?? PREVIEW_FIRST_STAGE_WORK, Math.max(graph.fileBytes, 4 * (folder.config.parameters ?? 0)));
    } catch (error) {
      await graph.release();
      throw error;
    }
  }

  tokenize(text: string): TokenizedText {
    return this.tokenizer.encode(text);
  }

  /**
   * Tokenizes and scores a whole text. With `options.previous` from this model, only the
   * text after the first change is tokenized again (`TextTokenizer.encodeEdited`).
   */
  async score(text: string, options: ScoreOptions = {}): Promise<DocumentScores> {
    const previousText = options.previous ? this.scoredTexts.get(options.previous) : undefined;
    const tokens = previousText === undefined ? this.tokenize(text) : this.tokenizer.encodeEdited(options.previous!, previousText, text);
    const result = await this.scoreTokens(tokens, text, options);
    this.scoredTexts.set(result, text);
    return result;
  }

  async scoreTokens(tokens: TokenizedText, text: string, options: ScoreOptions = {}): Promise<DocumentScores> {
    this.assertUsable();
    const n = tokens.ids.length;
    const k = options.topK ?? DEFAULT_TOP_K;
    const out = new ScoreColumns(n, k);
    const { logprobs, ranks, entropies, topIds, topProbs } = out;
    const bos = this.info.bosTokenId;
    const window = Math.max(2, Math.min(options.windowSize ?? this.info.windowSize, this.info.contextLength));
    const docPerWindow = bos === null ? window : window - 1;
    // A stride above the window would skip tokens; equal to it means windows without overlap.
    const stride = Math.max(1, Math.min(options.stride ?? Math.floor(window / 2), docPerWindow));
    const displayable = this.tokenizer.vocabSize;

    const reusable = options.previous && options.previous.topK === k && options.previous.windowSize === window && options.previous.stride === stride
      ? options.previous
      : undefined;
    const reused = reusable ? commonPrefixLength(reusable, tokens) : 0;
    if (reusable && reused > 0) out.copyPrefix(reusable, reused);
    const columns = () => ({ tokenCount: n, ids: tokens.ids, starts: tokens.starts, ends: tokens.ends, ...out.columns(), exactOffsets: tokens.exactOffsets });
    const windows = planWindows(n, reused, docPerWindow, stride, bos !== null);
    // Stages feed one another's keys/values: without a cache each would start over.
    const firstStageTokens = this.graph.hasCache ? Math.max(1, Math.floor(this.previewFirstStageWork / this.workBytes)) : Infinity;
    const { order, priorityCount, reportAfter } = priorityOrder(windows, tokens, options.priority, window * this.workBytes >= this.previewMinWork, firstStageTokens);

    const shift = bos === null ? 0 : 1;
    const windowsPerRun = this.windowsPerRun ?? Math.max(1, Math.min(MAX_WINDOWS_PER_RUN, Math.floor(MAX_STATISTICS_CELLS / ((stride + 1) * this.info.vocabSize))));
    const cached = reusable ? this.windowCaches.get(reusable) : undefined;
    // Kept: the window of the first change when re-scoring, else the last window (typing
    // usually happens at the end of a new document).
    const keptWindow = this.graph.hasCache ? (reusable ? windows[0] : windows[windows.length - 1]) : undefined;
    const isKept = (w: ScoringWindow) => keptWindow !== undefined && !w.preview && w.start === keptWindow.start && w.end === keptWindow.end;
    let keptCache: WindowCache | undefined;
    /** A preview's keys/values, by window start, for the rest of its window. */
    const previewCaches = new Map<number, WindowCache>();
    let cachedPositions = 0;
    let scoredTokens = reused;
    const idsOf = (w: ScoringWindow) => (bos === null ? Array.from(tokens.ids.subarray(w.start, w.end)) : [bos, ...tokens.ids.subarray(w.start, w.end)]);
    const putRows = (stats: RowStatistics, firstRow: number, firstToken: number, count: number) => out.putRows(stats, firstRow, firstToken, count);
    for (let w = 0; w < order.length; ) {
      if (options.cancellation?.isCancelled) throw new CancelledError();
      const first = order[w]!;
      const windowIds = idsOf(first);
      // Document token j sits at window position (j - start) + shift and is predicted by
      // the row before it.
      const firstRow = first.firstTarget - first.start + shift - 1;
      // Typing in the same window again: the keys/values of the unchanged positions before
      // the first target are taken from the cache instead of being recomputed.
      // The rest of a previewed window: the preview's positions likewise.
      const fromPreview = previewCaches.get(first.start);
      const source = fromPreview ?? (cached && cached.start === first.start ? cached : undefined);
      const pastLength = source ? Math.min(commonLength(source.ids, windowIds), firstRow) : 0;
      const past = pastLength > 0 ? sliceCache(source!.cache, pastLength) : null;
      if (fromPreview) previewCaches.delete(first.start);
      else cachedPositions += pastLength;
      const keep = isKept(first) || (first.preview === true && this.graph.hasCache);
      const keepCache = (cache: KvCache | null) => {
        if (!cache) return;
        if (first.preview) previewCaches.set(first.start, { start: first.start, ids: windowIds, cache });
        else keptCache = { start: first.start, ids: windowIds, cache };
      };
      if (this.graph.scoresInGraph) {
        // Windows of the same shape (every full window after the first) go through together,
        // within the priority part or the rest, never with a cache to feed or keep.
        const group = [first];
        const inPriority = w < priorityCount;
        const scored = first.end - first.firstTarget;
        while (
          !keep && pastLength === 0 && group.length < windowsPerRun && w + group.length < order.length &&
          (w + group.length < priorityCount) === inPriority
        ) {
          const next = order[w + group.length]!;
          if (isKept(next) || next.preview !== first.preview || next.end - next.start !== first.end - first.start || next.end - next.firstTarget !== scored || cached?.start === next.start) break;
          group.push(next);
        }
        // The last row of each window predicts the token after it: analysed, never used.
        const rows = scored + 1;
        const targets = new BigInt64Array(group.length * rows);
        group.forEach((g, b) => {
          for (let r = 0; r < scored; r++) targets[b * rows + r] = BigInt(tokens.ids[g.firstTarget + r]!);
        });
        const sequences = group.map((g, b) => (b === 0 ? windowIds.slice(pastLength) : idsOf(g)));
        const stats = await this.graph.forwardScored(sequences, past, keep, targets, k, displayable, this.info.vocabSize);
        if (keep) keepCache(stats.cache);
        group.forEach((g, b) => putRows(stats, b * rows, g.firstTarget, scored));
        scoredTokens += group.length * scored;
        w += group.length;
      } else {
        const { start, end, firstTarget } = first;
        const { logits, logitsWidth, cache } = await this.graph.forward(windowIds.slice(pastLength), past, keep);
        if (keep) keepCache(cache);
        const targetRow = (j: number) => j - start + shift - 1 - pastLength;
        if (this.head && end > firstTarget) {
          const stats = await this.head.run(logits, logitsWidth, targetRow(firstTarget), tokens.ids.subarray(firstTarget, end), k, displayable);
          putRows(stats, 0, firstTarget, end - firstTarget);
        } else {
          for (let j = firstTarget; j < end; j++) {
            const stats = analyseRow(logits, targetRow(j) * logitsWidth, logitsWidth, tokens.ids[j]!, displayable, topIds, topProbs, j * k, k);
            logprobs[j] = stats.logprob;
            ranks[j] = stats.rank;
            entropies[j] = stats.entropyBits;
          }
        }
        scoredTokens += end - firstTarget;
        w += 1;
      }
      options.onProgress?.(scoredTokens, n);
      if (reportAfter.includes(w) && w < order.length) {
        options.onPartial?.({ ...columns(), summary: summarise(logprobs, text), reusedTokens: reused, cachedPositions, windowSize: window, stride });
      }
    }
    // Nothing changed at all: the old cache still describes this text.
    keptCache ??= cached;
    const result: DocumentScores = { ...columns(), summary: summarise(logprobs, text), reusedTokens: reused, cachedPositions, windowSize: window, stride };
    if (keptCache) this.windowCaches.set(result, keptCache);
    return result;
  }

  /**
   * ln P of each of `ids` given the ones before it (and BOS), computed by feeding the ids in
   * chunks through the key/value cache; `chunkSize >= ids.length` is one plain pass. The
   * first id without BOS gets NaN. Used to check that the cache path equals the plain one.
   */
  async logprobsThroughCache(ids: readonly number[], chunkSize: number): Promise<Float64Array> {
    this.assertUsable();
    const bos = this.info.bosTokenId;
    const sequence = bos === null ? [...ids] : [bos, ...ids];
    const out = new Float64Array(ids.length).fill(NaN);
    const scratchIds = new Int32Array(1);
    const scratchProbs = new Float32Array(1);
    let cache: KvCache | null = null;
    for (let from = 0; from < sequence.length; from += chunkSize) {
      const chunk = sequence.slice(from, from + chunkSize);
      const result = await this.graph.forward(chunk, cache, this.graph.hasCache);
      cache = result.cache;
      if (!cache && from + chunkSize < sequence.length) throw new Error('This model has no key/value cache');
      for (let i = 0; i < chunk.length; i++) {
        const position = from + i; // predicts sequence[position + 1]
        const target = position + 1;
        if (target >= sequence.length) break;
        const stats = analyseRow(result.logits, i * result.logitsWidth, result.logitsWidth, sequence[target]!, 0, scratchIds, scratchProbs, 0, 0);
        out[target - (bos === null ? 0 : 1)] = stats.logprob;
      }
    }
    return out;
  }

  /**
   * The distribution of the token that follows `context` (conditioned on at most one
   * window of it, plus BOS).
   */
  async predictNext(context: string, topK: number): Promise<NextTokens> {
    this.assertUsable();
    const bos = this.info.bosTokenId;
    const room = bos === null ? this.info.windowSize : this.info.windowSize - 1;
    // Only the last window of the context is used: tokenize the end of it.
    const ids = this.tokenizer.encodeTail(context, room).ids;
    const tail = Array.from(ids.subarray(Math.max(0, ids.length - room)));
    const sequence = bos === null ? tail : [bos, ...tail];
    if (sequence.length === 0) return { candidates: [], entropyBits: NaN };
    // Only the last row is needed: a graph that scores in the graph runs its LM head on it alone.
    const { logits, logitsWidth } = await this.graph.forward(sequence, null, false, 1);
    const topIds = new Int32Array(topK);
    const topProbs = new Float32Array(topK);
    const row = logits.length - logitsWidth;
    const stats = analyseRow(logits, row, logitsWidth, -1, this.tokenizer.vocabSize, topIds, topProbs, 0, topK);
    const candidates = [];
    for (let j = 0; j < topK && topIds[j]! >= 0; j++) {
      candidates.push({ id: topIds[j]!, text: this.tokenizer.displayText(topIds[j]!), prob: topProbs[j]! });
    }
    return { candidates, entropyBits: stats.entropyBits };
  }

  /**
   * Low-level step for searches over continuations (the next-word beam): runs `ids` after
   * `state` (null = start of text, BOS added when the model has one) and returns the
   * log-probabilities of the next token after the last id, plus the state to continue from.
   * Without a key/value cache the state holds the ids and each step re-runs them.
   */
  async step(state: ContinuationState | null, ids: readonly number[]): Promise<ContinuationState> {
    this.assertUsable();
    const bos = this.info.bosTokenId;
    const prefix = state ? state.ids : bos === null ? [] : [bos];
    const all = [...prefix, ...ids];
    if (all.length === 0) throw new Error('Nothing to condition on: the model has no BOS token and the context is empty');
    let logits: Float32Array;
    let width: number;
    let cache: KvCache | null = null;
    if (state?.cache && this.graph.hasCache) {
      const result = await this.graph.forward(ids, state.cache, true, 1);
      ({ logits, logitsWidth: width, cache } = result);
    } else {
      const result = await this.graph.forward(all, null, this.graph.hasCache, 1);
      ({ logits, logitsWidth: width, cache } = result);
    }
    const last = logits.subarray(logits.length - width);
    let max = -Infinity;
    for (let i = 0; i < width; i++) if (last[i]! > max) max = last[i]!;
    let sum = 0;
    for (let i = 0; i < width; i++) sum += Math.exp(last[i]! - max);
    const logZ = max + Math.log(sum);
    const nextLogprobs = new Float32Array(width);
    for (let i = 0; i < width; i++) nextLogprobs[i] = last[i]! - logZ;
    return { ids: all, cache, nextLogprobs };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([this.graph.release(), this.head?.release()]);
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error('The model was unloaded');
  }
}

function commonLength(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a[i] === b[i]) i++;
  return i;
}

/** Leading tokens identical in id and position in both tokenizations. */
function commonPrefixLength(previous: DocumentScores, tokens: TokenizedText): number {
  const limit = Math.min(previous.tokenCount, tokens.ids.length);
  let i = 0;
  while (i < limit && previous.ids[i] === tokens.ids[i] && previous.starts[i] === tokens.starts[i] && previous.ends[i] === tokens.ends[i]) i++;
  return i;
}

function resolveBos(folder: ModelFolder, tokenizer: TextTokenizer): number | null {
  if (folder.config.bosTokenId !== undefined) return folder.config.bosTokenId;
  const bosToken = folder.tokenizerConfig.bos_token;
  const content = typeof bosToken === 'string' ? bosToken : (bosToken as { content?: unknown } | undefined)?.content;
  if (typeof content === 'string') return tokenizer.idOf(content) ?? null;
  return null;
}

/**
 * Runs two tokens through the graph to learn the logits width, and to refuse graphs that
 * return logits only for the last position (a per-token scorer needs one row per token).
 */
async function probeLogitsWidth(graph: OnnxCausalLm, id: number): Promise<number> {
  try {
    return (await graph.forward([id, id], null, false)).logitsWidth;
  } catch (error) {
    if (error instanceof ModelFolderError) throw error;
    throw new ModelFolderError('graph-unsupported', `A test run of the graph failed: ${(error as Error).message.split('\n')[0]}`);
  }
}

function checkVocabulary(folder: ModelFolder, tokenizer: TextTokenizer, logitsWidth: number): void {
  if (logitsWidth < tokenizer.vocabSize) {
    throw new ModelFolderError(
      'vocab-mismatch',
      `The graph predicts ${logitsWidth} tokens but tokenizer.json has ${tokenizer.vocabSize}: the tokenizer does not belong to this model`,
    );
  }
  const declared = folder.config.vocabSize;
  if (declared !== undefined && declared !== logitsWidth) {
    throw new ModelFolderError('vocab-mismatch', `config.json says vocab_size ${declared} but the graph predicts ${logitsWidth} tokens`);
  }
}
