/**
 * One ONNX causal-LM graph driven through onnxruntime-node, with its key/value cache.
 *
 * Inputs and outputs are read from the session rather than assumed, so GPT-2, Llama, Qwen2
 * and SmolLM exports from Optimum / Transformers.js all work: `input_ids`, optional
 * `attention_mask`, `position_ids`, `past_key_values.N.key/value` (whose outputs are
 * `present.N.key/value`), `use_cache_branch`, `logits_to_keep`; output `logits`.
 */
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { freemem } from 'node:os';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelFolderError, type ModelConfig } from './modelFolder';
import type { RowStatistics } from './scoreHead';
import { OptimizedGraphCache, type GraphMode } from './optimizedGraphCache';
import { addScoringOutputs, externalTensors, fileSource, SCORING } from './scoringGraph';

/** Keys and values of the tokens already run, ready to be fed back as the next step's past. */
export interface KvCache {
  /** Number of positions the cache holds. */
  readonly length: number;
  /** Past tensors by graph input name. */
  readonly tensors: ReadonlyMap<string, ort.Tensor>;
}

export interface ForwardResult {
  /** Logits, row-major `[sequence, logitsWidth]` as float32. */
  readonly logits: Float32Array;
  readonly logitsWidth: number;
  /** The cache after this step (past + new tokens), when requested and supported. */
  readonly cache: KvCache | null;
}

interface PastInput {
  readonly inputName: string;
  readonly outputName: string;
  readonly type: 'float32' | 'float16';
  /** Dimensions other than the past length: [batch, heads, (past), headDim]. */
  readonly heads: number;
  readonly headDim: number;
}

/** Per-row statistics computed inside the graph (see scoringGraph.ts); rows = sequences x rows per sequence. */
export interface ScoredRows extends RowStatistics {
  readonly cache: KvCache | null;
}

export interface SessionSettings {
  readonly intraOpThreads?: number;
  /** Rewrite the graph to score inside ONNX Runtime when it allows it (default true). */
  readonly inGraphScoring?: boolean;
  /** Rows x logits width scored per run before a long window is split through the cache (default SCORED_CELLS_PER_RUN). */
  readonly scoredCellsPerRun?: number;
  /** Where optimized graphs are saved for faster second loads; null: nowhere; default: `OptimizedGraphCache.fromEnvironment()`. */
  readonly graphCache?: OptimizedGraphCache | null;
}

/** Larger graphs are not saved optimized: ORT writes one protobuf, limited to 2 GB. */
const MAX_CACHED_BYTES = 1.5e9;

/**
 * Memory a load needs, as a multiple of the model's files. Measured peak RSS after a load
 * (BENCHMARKS.md, Real-size models): 1.19x the file for SmolLM2-135M's 652 MB inline fp32
 * graph (the rewrite refers to the weights in the file), 1.02x for Qwen2.5-0.5B's weights in
 * an external data file; 2.8x before the rewrite stopped copying the weights. A
 * model is refused only when even 1.5x its files exceed the free memory: past that point the
 * load would swap or be killed, and below it the estimate is too rough to refuse on.
 */
export const LOAD_MEMORY_FACTOR = 1.5;

/** What a model's files come to, checked before ONNX Runtime sees them. */
export interface GraphFiles {
  /** The graph file and every external data file it names. */
  readonly files: readonly string[];
  readonly bytes: number;
}

/**
 * Checks a graph's files before loading: every external data file it names exists, lies
 * beside it and is long enough for the tensors read from it, and the files fit in
 * `availableMemory` (default: the free memory, MemAvailable on Linux). Each failure is a
 * one-line ModelFolderError; nothing is loaded, so a model already in use is untouched.
 */
export function checkGraphFiles(graphPath: string, availableMemory: number = freemem()): GraphFiles {
  const folder = dirname(graphPath);
  const name = basename(graphPath);
  let tensors: ReturnType<typeof externalTensors> = [];
  let fd: number | null = null;
  try {
    fd = openSync(graphPath, 'r');
    tensors = externalTensors(fileSource(fd));
  } catch {
    // Not a readable graph: ONNX Runtime's own message says so when it is loaded.
  } finally {
    if (fd !== null) closeSync(fd);
  }
  const ends = new Map<string, number>();
  for (const t of tensors) ends.set(t.location, Math.max(ends.get(t.location) ?? 0, t.length < 0 ? t.offset : t.offset + t.length));
  const files = [graphPath];
  for (const [location, end] of ends) {
    if (isAbsolute(location) || normalize(location).startsWith('..')) {
      throw new ModelFolderError('external-data-missing', `${name} reads weights from ${location}, outside its folder; refused`);
    }
    const path = join(folder, location);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new ModelFolderError('external-data-missing', `${name} keeps weights in ${location}, which is missing from ${folder}`);
    }
    const size = statSync(path).size;
    if (size < end) {
      throw new ModelFolderError('external-data-missing', `${location} is truncated: ${size} bytes, but ${name} reads up to byte ${end} (download it again)`);
    }
    files.push(path);
  }
  const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  checkMemory(bytes, availableMemory, name);
  return { files, bytes };
}

/** Refuses a model whose files, times LOAD_MEMORY_FACTOR, exceed the available memory. */
export function checkMemory(bytes: number, availableMemory: number, what: string): void {
  const needed = bytes * LOAD_MEMORY_FACTOR;
  if (needed > availableMemory) {
    const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
    throw new ModelFolderError(
      'memory-insufficient',
      `${what} needs about ${gb(needed)} of memory to load (${gb(bytes)} of files) but ${gb(availableMemory)} is free; choose a smaller variant (surprisalLens.modelVariant) or free memory`,
    );
  }
}

/** The one-line reason ONNX Runtime gave for refusing a graph, as a ModelFolderError. */
export function sessionError(graphPath: string, error: unknown): ModelFolderError {
  const message = error instanceof Error ? error.message : String(error);
  const name = basename(graphPath);
  const runtime = `ONNX Runtime ${ort.env.versions.node ?? ort.env.versions.common} (CPU)`;
  const missing = /Could not find an implementation for (\w+)\((\d+)\)/.exec(message) ?? /(\w+)\(-?\d+\) is not a registered function\/op/.exec(message);
  if (missing) {
    return new ModelFolderError('operator-unsupported', `${name} uses the operator ${missing[1]}, which ${runtime} cannot run; choose another variant of this model (surprisalLens.modelVariant)`);
  }
  const quantized = /\b(MatMulNBits|MatMulInteger|MatMulBnb4|DynamicQuantizeLinear|DequantizeLinear|GatherBlockQuantized|QLinearMatMul)\b/.exec(message);
  if (quantized && /Exception during initialization|was false|not supported/i.test(message)) {
    // Kernel asserts read "<file>:<line> <signature> <condition> was false. <reason>": keep the reason.
    const reason = /was false\.\s*([^\n]*)/.exec(message)?.[1]?.trim() || firstLine(error);
    return new ModelFolderError('operator-unsupported', `${name}: ${runtime} cannot run its ${quantized[1]} nodes (${reason}); choose another variant of this model (surprisalLens.modelVariant)`);
  }
  return new ModelFolderError('graph-invalid', `ONNX Runtime cannot load ${graphPath}: ${firstLine(error)}`);
}

export class OnnxCausalLm {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly pastInputs: readonly PastInput[],
    private readonly inputNames: ReadonlySet<string>,
    /** Why the graph scores in JavaScript instead of in ONNX Runtime; null when it scores in the graph. */
    readonly inGraphScoringUnavailable: string | null,
    private readonly scoredCellsPerRun: number,
    /** The graph's files, in bytes: a measure of the work per token (weights read and multiplied). */
    readonly fileBytes: number,
  ) {}

  get hasCache(): boolean {
    return this.pastInputs.length > 0;
  }

  /** The graph computes row statistics itself (`forwardScored`), and its LM head runs only on the rows asked for. */
  get scoresInGraph(): boolean {
    return this.inGraphScoringUnavailable === null;
  }

  static async load(graphPath: string, config: ModelConfig, settings: SessionSettings = {}): Promise<OnnxCausalLm> {
    const files = checkGraphFiles(graphPath);
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: settings.intraOpThreads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    };
    const cache = files.files.length === 1 && files.bytes < MAX_CACHED_BYTES ? (settings.graphCache === undefined ? OptimizedGraphCache.fromEnvironment() : settings.graphCache) : null;
    const mode: GraphMode = settings.inGraphScoring === false ? 'plain' : 'scoring';
    let unavailable: string | null = 'turned off';
    let session: ort.InferenceSession | null = null;
    const cached = cache?.find(graphPath, mode);
    if (cache && cached) {
      try {
        // Already optimized for this machine and runtime: nothing left to do at load.
        session = await ort.InferenceSession.create(cached, { ...options, graphOptimizationLevel: 'disabled' });
        if (mode === 'scoring') unavailable = null;
      } catch {
        cache.discard(cached);
      }
    }
    const partial = cache && !session ? cache.reserve(graphPath, mode) : undefined;
    // logSeverityLevel 3: ORT warns on every save that the file suits this machine only, which the cache key already ensures.
    const saving = partial ? { ...options, optimizedModelFilePath: partial, logSeverityLevel: 3 as const } : options;
    if (!session && mode === 'scoring') {
      const rewritten = rewriteForScoring(graphPath);
      unavailable = rewritten.ok ? null : rewritten.reason;
      if (rewritten.ok) {
        try {
          // A graph read from memory finds its weights (in its own file or in data files) only when told their folder.
          const folder = { extra: { session: { model_external_initializers_file_folder_path: dirname(graphPath) } } };
          session = await ort.InferenceSession.create(rewritten.bytes, { ...saving, ...folder });
          if (partial) cache!.commit(partial, graphPath, mode);
        } catch (error) {
          // The rewrite is an optimisation: a graph ONNX Runtime refuses in that form still loads as it is.
          unavailable = `ONNX Runtime refused the rewritten graph: ${firstLine(error)}`;
        }
      }
    }
    try {
      if (!session) {
        // Only the plain mode's graph is saved as plain; a rewrite that failed is tried again next time.
        session = await ort.InferenceSession.create(graphPath, mode === 'plain' ? saving : options);
        if (partial && mode === 'plain') cache!.commit(partial, graphPath, mode);
      }
    } catch (error) {
      throw sessionError(graphPath, error);
    } finally {
      if (partial) cache!.discard(partial);
    }
    try {
      const { pastInputs, inputNames } = describeGraph(session, config, graphPath);
      return new OnnxCausalLm(session, pastInputs, inputNames, unavailable, settings.scoredCellsPerRun ?? SCORED_CELLS_PER_RUN, files.bytes);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /**
   * Runs new tokens after an optional cache. Positions continue from the cache's length.
   * @param keepCache return the updated cache (costs copying the present tensors out)
   * @param lastRows logits for the last `lastRows` positions only (all when absent); honoured
   *   when the graph scores in the graph or has its own logits_to_keep input, so check
   *   `ForwardResult.logits.length`
   */
  async forward(ids: ArrayLike<number>, past: KvCache | null, keepCache: boolean, lastRows?: number): Promise<ForwardResult> {
    const length = ids.length;
    const feeds = this.feeds([ids], past);
    const ownKeep = ['logits_to_keep', 'num_logits_to_keep'].find((name) => this.inputNames.has(name));
    const rows = (this.scoresInGraph || ownKeep) && lastRows !== undefined ? Math.min(length, Math.max(1, lastRows)) : length;
    if (this.scoresInGraph) {
      Object.assign(feeds, scoringFeeds(rows === length ? 0 : rows, new BigInt64Array(1), 1, 1, 1));
    } else if (ownKeep && rows !== length) {
      feeds[ownKeep] = new ort.Tensor('int64', BigInt64Array.of(BigInt(rows)), []);
    }
    const fetches = ['logits', ...(keepCache ? this.pastInputs.map((p) => p.outputName) : [])];
    const outputs = await this.session.run(feeds, fetches);
    const logitsTensor = outputs.logits!;
    const dims = logitsTensor.dims;
    const logitsWidth = Number(dims[dims.length - 1]);
    const logits = toFloat32(logitsTensor);
    // Some exports return only the last position; callers need one row per input token.
    if (logits.length !== rows * logitsWidth) {
      throw new ModelFolderError('graph-unsupported', `The graph returned logits for ${logits.length / logitsWidth} positions, expected ${rows}`);
    }
    return { logits, logitsWidth, cache: keepCache ? this.cacheFrom(outputs, past, length) : null };
  }

  /**
   * Runs equal-length sequences side by side (batched along the first dimension) and returns
   * the statistics of the last `targets.length / sequences.length` rows of each, row r of
   * sequence b analysed against `targets[b * rowsPerSequence + r]`; the top-k lists only ids
   * below `displayable` (ids of a padded vocabulary the tokenizer cannot show are skipped).
   * Only when `scoresInGraph`; a cache (past or kept) only with one sequence.
   *
   * A single sequence with more rows than `SCORED_CELLS_PER_RUN / logitsWidth` runs as
   * consecutive chunks through the key/value cache, so the statistics' full-vocabulary
   * intermediates stay bounded whatever the window length: the transformer still runs each
   * position once, and a long window no longer costs memory in proportion to its length times
   * the vocabulary.
   */
  async forwardScored(
    sequences: readonly ArrayLike<number>[],
    past: KvCache | null,
    keepCache: boolean,
    targets: BigInt64Array,
    topK: number,
    displayable: number,
    logitsWidth: number,
  ): Promise<ScoredRows> {
    if (!this.scoresInGraph) throw new Error('This graph does not score in the graph');
    if ((past || keepCache) && sequences.length !== 1) throw new Error('A key/value cache goes with one sequence at a time');
    const rows = targets.length;
    const k = Math.max(1, Math.min(topK, displayable, logitsWidth));
    const shown = Math.min(displayable, logitsWidth);
    const chunkRows = scoredRowsPerRun(logitsWidth, this.scoredCellsPerRun);
    if (sequences.length === 1 && this.hasCache && rows > chunkRows) {
      return this.forwardScoredInChunks(sequences[0]!, past, keepCache, targets, k, shown, chunkRows);
    }
    return this.runScored(sequences, past, keepCache, targets, k, shown);
  }

  private async runScored(sequences: readonly ArrayLike<number>[], past: KvCache | null, keepCache: boolean, targets: BigInt64Array, k: number, shown: number): Promise<ScoredRows> {
    const rows = targets.length;
    const feeds = this.feeds(sequences, past);
    Object.assign(feeds, scoringFeeds(rows / sequences.length, targets, sequences.length, k, shown));
    const fetches = [SCORING.logprob, SCORING.rank, SCORING.entropyBits, SCORING.topLogprobs, SCORING.topIds, ...(keepCache ? this.pastInputs.map((p) => p.outputName) : [])];
    const outputs = await this.session.run(feeds, fetches);
    return {
      logprobs: outputs[SCORING.logprob]!.data as Float32Array,
      ranks: outputs[SCORING.rank]!.data as Float32Array,
      entropyBits: outputs[SCORING.entropyBits]!.data as Float32Array,
      topLogprobs: outputs[SCORING.topLogprobs]!.data as Float32Array,
      topIds: outputs[SCORING.topIds]!.data as BigInt64Array,
      k,
      cache: keepCache ? this.cacheFrom(outputs, past, sequences[0]!.length) : null,
    };
  }

  /**
   * `forwardScored` of one long sequence in runs of `chunkRows` positions, each continuing
   * from the previous run's cache: the unscored prefix too, so a run's attention scores are
   * chunkRows x the positions so far, never the window squared. A run without scored rows
   * keeps one row, whose statistics are dropped.
   */
  private async forwardScoredInChunks(
    sequence: ArrayLike<number>,
    past: KvCache | null,
    keepCache: boolean,
    targets: BigInt64Array,
    k: number,
    shown: number,
    chunkRows: number,
  ): Promise<ScoredRows> {
    const ids = Array.from(sequence);
    const rows = targets.length;
    const firstScored = ids.length - rows;
    const logprobs = new Float32Array(rows);
    const ranks = new Float32Array(rows);
    const entropyBits = new Float32Array(rows);
    const topLogprobs = new Float32Array(rows * k);
    const topIds = new BigInt64Array(rows * k);
    let cache = past;
    for (let from = 0; from < ids.length; from += chunkRows) {
      const to = Math.min(ids.length, from + chunkRows);
      const last = to === ids.length;
      const scoredFrom = Math.max(from, firstScored);
      const count = to - scoredFrom;
      const part = await this.runScored([ids.slice(from, to)], cache, !last || keepCache, count > 0 ? targets.subarray(scoredFrom - firstScored, to - firstScored) : new BigInt64Array(1), k, shown);
      if (count > 0) {
        const done = scoredFrom - firstScored;
        logprobs.set(part.logprobs, done);
        ranks.set(part.ranks, done);
        entropyBits.set(part.entropyBits, done);
        topLogprobs.set(part.topLogprobs, done * k);
        topIds.set(part.topIds, done * k);
      }
      cache = part.cache;
    }
    return { logprobs, ranks, entropyBits, topLogprobs, topIds, k, cache: keepCache ? cache : null };
  }

  /**
   * The longest window, at most `limit` tokens (the context, or a user's cap), whose working
   * memory stays within `budget` bytes: its key/value cache twice (ONNX Runtime's present
   * outputs and the copy kept for edits), one run's attention scores and probabilities
   * (heads x rows a run x window, float32), and the logits: all rows of the window when
   * JavaScript analyses them (ONNX Runtime's output and the statistics' input) or the graph
   * has no cache to run in parts, else SCORED_CELLS_PER_RUN cells a few times over.
   */
  windowSize(limit: number, logitsWidth: number, attentionHeads: number | undefined, budget: number = WINDOW_MEMORY_BUDGET): number {
    const cachePerPosition = this.pastInputs.reduce((sum, p) => sum + p.heads * p.headDim * (p.type === 'float16' ? 2 : 4), 0) * 2;
    const heads = attentionHeads ?? Math.max(1, ...this.pastInputs.map((p) => p.heads));
    // Runs of a bounded number of rows need the key/value cache; a graph without one runs a
    // window at once (and a head cut after it computes every row's logits).
    const inRuns = this.scoresInGraph && this.hasCache;
    const rowsPerRun = (length: number) => (inRuns ? Math.min(length, scoredRowsPerRun(logitsWidth, this.scoredCellsPerRun)) : length);
    const bytes = (length: number) =>
      length * cachePerPosition +
      heads * rowsPerRun(length) * length * 4 * 2 +
      (inRuns ? 4 * 4 * Math.min(length * logitsWidth, this.scoredCellsPerRun) : 2 * 4 * length * logitsWidth);
    if (bytes(limit) <= budget) return limit;
    // bytes() grows with the length: the largest length within the budget, by bisection.
    let low = Math.min(limit, 16);
    let high = limit;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (bytes(middle) <= budget) low = middle;
      else high = middle;
    }
    return low;
  }

  private feeds(sequences: readonly ArrayLike<number>[], past: KvCache | null): Record<string, ort.Tensor> {
    const batch = sequences.length;
    const length = sequences[0]!.length;
    const pastLength = past?.length ?? 0;
    const feeds: Record<string, ort.Tensor> = {};
    const ids = new BigInt64Array(batch * length);
    sequences.forEach((sequence, b) => {
      if (sequence.length !== length) throw new Error('Batched sequences must have the same length');
      for (let i = 0; i < length; i++) ids[b * length + i] = BigInt(sequence[i]!);
    });
    feeds.input_ids = new ort.Tensor('int64', ids, [batch, length]);
    if (this.inputNames.has('attention_mask')) {
      feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(batch * (pastLength + length)).fill(1n), [batch, pastLength + length]);
    }
    if (this.inputNames.has('position_ids')) {
      const positions = new BigInt64Array(batch * length);
      for (let i = 0; i < batch * length; i++) positions[i] = BigInt(pastLength + (i % length));
      feeds.position_ids = new ort.Tensor('int64', positions, [batch, length]);
    }
    if (this.inputNames.has('use_cache_branch')) {
      feeds.use_cache_branch = new ort.Tensor('bool', new Uint8Array([pastLength > 0 ? 1 : 0]), [1]);
    }
    for (const name of ['logits_to_keep', 'num_logits_to_keep']) {
      if (this.inputNames.has(name)) feeds[name] = new ort.Tensor('int64', new BigInt64Array([0n]), []);
    }
    for (const input of this.pastInputs) {
      feeds[input.inputName] = past?.tensors.get(input.inputName) ?? emptyPast(input, batch);
    }
    return feeds;
  }

  /** The `present.*` outputs as the cache for the next step: past + the positions just run. */
  private cacheFrom(outputs: ort.InferenceSession.OnnxValueMapType, past: KvCache | null, length: number): KvCache | null {
    if (this.pastInputs.length === 0) return null;
    const tensors = new Map<string, ort.Tensor>();
    for (const input of this.pastInputs) tensors.set(input.inputName, outputs[input.outputName]!);
    return { length: (past?.length ?? 0) + length, tensors };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function describeGraph(session: ort.InferenceSession, config: ModelConfig, graphPath: string) {
  const inputNames = new Set(session.inputNames);
  const outputNames = new Set(session.outputNames);
  if (!inputNames.has('input_ids')) {
    throw new ModelFolderError('graph-unsupported', `${graphPath} has no input_ids input (inputs: ${session.inputNames.join(', ')})`);
  }
  if (!outputNames.has('logits')) {
    throw new ModelFolderError('graph-unsupported', `${graphPath} has no logits output (outputs: ${session.outputNames.join(', ')}); it is not a causal language model graph`);
  }
  const known = new Set(['input_ids', 'attention_mask', 'position_ids', 'use_cache_branch', 'logits_to_keep', 'num_logits_to_keep', SCORING.keep, SCORING.targets, SCORING.topK, SCORING.displayable]);
  const metadata = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const pastInputs: PastInput[] = [];
  for (const name of session.inputNames) {
    const match = /^past_key_values\.(\d+)\.(key|value)$/.exec(name);
    if (!match) {
      if (!known.has(name)) {
        throw new ModelFolderError('graph-unsupported', `${graphPath} needs an input the engine does not know how to fill: ${name}`);
      }
      continue;
    }
    const outputName = `present.${match[1]}.${match[2]}`;
    if (!outputNames.has(outputName)) {
      throw new ModelFolderError('graph-unsupported', `${graphPath} takes ${name} but has no matching ${outputName} output`);
    }
    const meta = metadata.get(name);
    const shape = meta && meta.isTensor ? meta.shape : [];
    const type = meta && meta.isTensor ? meta.type : 'float32';
    if (type !== 'float32' && type !== 'float16') {
      throw new ModelFolderError('graph-unsupported', `${name} has type ${type}; only float32 and float16 caches are supported`);
    }
    const heads = typeof shape[1] === 'number' ? shape[1] : config.numKeyValueHeads;
    const headDim = typeof shape[3] === 'number' ? shape[3] : config.headDim;
    if (!heads || !headDim) {
      throw new ModelFolderError('graph-unsupported', `Cannot tell the shape of ${name}: config.json lacks the number of heads or head size`);
    }
    pastInputs.push({ inputName: name, outputName, type, heads, headDim });
  }
  return { pastInputs, inputNames };
}

/** Reads the graph file and adds the scoring outputs, or says why not. */
function rewriteForScoring(graphPath: string): { ok: true; bytes: Uint8Array } | { ok: false; reason: string } {
  let fd: number | null = null;
  try {
    fd = openSync(graphPath, 'r');
    const source = fileSource(fd);
    // The weights stay in the file: the rewritten graph refers to them there.
    return addScoringOutputs(source, basename(graphPath));
  } catch (error) {
    return { ok: false, reason: firstLine(error) };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function scoringFeeds(keep: number, targets: BigInt64Array, batch: number, topK: number, displayable: number): Record<string, ort.Tensor> {
  return {
    [SCORING.keep]: new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), [1]),
    [SCORING.targets]: new ort.Tensor('int64', targets, [batch, targets.length / batch]),
    [SCORING.topK]: new ort.Tensor('int64', BigInt64Array.of(BigInt(topK)), [1]),
    [SCORING.displayable]: new ort.Tensor('int64', BigInt64Array.of(BigInt(displayable)), [1]),
  };
}

/**
 * Cells (rows x logits width) of one run's scored rows. ONNX Runtime holds a few
 * full-vocabulary intermediates of the statistics at once (log-softmax, its exp, a product,
 * the top-k's slice), each this many floats: 2^25 cells = 128 MB each, 682 rows of SmolLM2's
 * 49,152-wide logits, 220 of Qwen2.5's 151,936. Smaller runs cost more than their memory
 * saves: SmolLM2-135M scored 4,000 tokens in windows of 1,024 in 28 s with runs of 682 rows
 * and 87 s with runs of 170 (side by side, on a loaded 2-vCPU machine).
 */
export const SCORED_CELLS_PER_RUN = 1 << 25;

/**
 * Working memory a scoring window may take beyond the weights (see `OnnxCausalLm.windowSize`).
 * With 1 GiB, of which the statistics' intermediates take 512 MB: SmolLM2-135M (cache 92 KB
 * and attention 49 KB a position) gets windows of about 3,800 tokens, Qwen2.5-0.5B (49 + 25
 * KB) about 7,300, and a graph whose logits JavaScript analyses about 2,000 at SmolLM2's
 * 49,152-wide logits (393 KB a position); the default model its whole 512-token context.
 */
export const WINDOW_MEMORY_BUDGET = 1 << 30;

/** Scored rows per run for a logits width: SCORED_CELLS_PER_RUN's share, at least 64 (shorter runs use the matrix kernels poorly). */
export function scoredRowsPerRun(logitsWidth: number, cells = SCORED_CELLS_PER_RUN): number {
  return Math.max(64, Math.floor(cells / logitsWidth));
}

/** The first k ids below `displayable` of each row's `searched` best, in order. */
export function displayableTopK(logprobs: Float32Array, ids: BigInt64Array, rows: number, searched: number, k: number, displayable: number) {
  const topLogprobs = new Float32Array(rows * k);
  const topIds = new BigInt64Array(rows * k).fill(-1n);
  const limit = BigInt(displayable);
  for (let r = 0; r < rows; r++) {
    for (let i = 0, kept = 0; i < searched && kept < k; i++) {
      if (ids[r * searched + i]! >= limit) continue;
      topIds[r * k + kept] = ids[r * searched + i]!;
      topLogprobs[r * k + kept] = logprobs[r * searched + i]!;
      kept++;
    }
  }
  return { topLogprobs, topIds };
}

function emptyPast(input: PastInput, batch = 1): ort.Tensor {
  const dims = [batch, input.heads, 0, input.headDim];
  return input.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
}

function toFloat32(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') {
    const half = tensor.data as Uint16Array;
    const out = new Float32Array(half.length);
    for (let i = 0; i < half.length; i++) out[i] = halfToFloat(half[i]!);
    return out;
  }
  throw new ModelFolderError('graph-unsupported', `logits have type ${tensor.type}; expected float32 or float16`);
}

/** An IEEE half-precision value (its 16 bits) as a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

/** The first `length` positions of a cache (tensors are [batch, heads, positions, headDim]). */
export function sliceCache(cache: KvCache, length: number): KvCache {
  if (length >= cache.length) return cache;
  const tensors = new Map<string, ort.Tensor>();
  for (const [name, tensor] of cache.tensors) {
    const [batch, heads, positions, headDim] = tensor.dims as [number, number, number, number];
    const source = tensor.data as Float32Array | Uint16Array;
    const target = new (source.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(batch * heads * length * headDim);
    for (let h = 0; h < batch * heads; h++) {
      target.set(source.subarray(h * positions * headDim, (h * positions + length) * headDim), h * length * headDim);
    }
    tensors.set(name, new ort.Tensor(tensor.type as 'float32', target as Float32Array, [batch, heads, length, headDim]));
  }
  return { length, tensors };
}
