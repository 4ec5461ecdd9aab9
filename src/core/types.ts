/**
 * The vocabulary the core speaks: what a model is, a document's scores, a next-word
 * distribution, and cancellation. Types only (plus the one error class), so every layer
 * (engine, worker, host, webview) imports them without importing each other.
 */
import type { DocumentSummary } from './summary';

export interface ModelInfo {
  readonly name: string;
  /** The graph file loaded, when the model came from a folder (see modelFolder.listModelVariants). */
  readonly variant?: { readonly name: string; readonly graphFile: string; readonly bytes: number };
  readonly path: string;
  readonly modelType: string;
  readonly vocabSize: number;
  readonly contextLength: number;
  /** Tokens per scoring window: the context length, capped by `maxWindow` when set and by the window's working memory. */
  readonly windowSize: number;
  readonly bosTokenId: number | null;
  readonly hasKvCache: boolean;
  /** Why row statistics are computed outside the graph; null when the graph computes them (the fast path). */
  readonly inGraphScoringUnavailable: string | null;
  /**
   * Set when an inference server scores (src/core/remote): which one, for the status bar and
   * the hover. Absent: the local ONNX model. With a server, `vocabSize` is 0 (not reported),
   * `path` is the server's URL and `modelType` the engine ('vLLM', 'SGLang', 'TGI').
   */
  readonly remote?: RemoteSource;
}

/**
 * What a backend does not report. Absent on `DocumentScores`: everything is reported (local
 * scoring). Servers return only their top-k, never the full distribution.
 */
export interface ScoreGaps {
  /** No alternatives at all (TGI has none for prompt tokens): `topK` is 0; say so instead of an empty table. */
  readonly noAlternatives: boolean;
  /**
   * 'exact': every scored token has its rank (vLLM); 'top-k': only tokens among the
   * alternatives have one, the others 0 = beyond the top-k, rank unknown (SGLang); 'none':
   * every rank is 0 = unknown (TGI). A 0 rank must not be coloured as top-10 in rank mode.
   */
  readonly ranks: 'exact' | 'top-k' | 'none';
  /** No entropy: `entropies` is NaN for every token. */
  readonly noEntropy: boolean;
}

/** An inference server that scores the documents (see `ModelInfo.remote`). */
export interface RemoteSource {
  /** The API spoken: vLLM's OpenAI-compatible `/v1/completions`, SGLang's or TGI's `/generate`. */
  readonly api: 'openai-completions' | 'sglang' | 'tgi';
  /** The engine for people: 'vLLM', 'SGLang' or 'TGI'. */
  readonly engine: string;
  /** The server's host[:port]. */
  readonly host: string;
  /** The configured URL, without credentials or query. */
  readonly url: string;
  /** The model the server scores with. */
  readonly model: string;
  /** One line for the status bar: "Llama-3.1-8B on vLLM at gpu-01:8000". */
  readonly label: string;
  /** What this engine does not report (also on each `DocumentScores.gaps`). */
  readonly gaps: ScoreGaps;
}

/** Checked between windows so a long job can be abandoned. */
export interface Cancellation {
  readonly isCancelled: boolean;
}

export class CancelledError extends Error {
  constructor() {
    super('Scoring was cancelled');
    this.name = 'CancelledError';
  }
}

/** Every token of a document with its scores, in columns (cheap to copy between threads). */
export interface DocumentScores {
  readonly tokenCount: number;
  readonly ids: Int32Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** ln P(token | preceding text); NaN for an unscored token (the first, without BOS). */
  readonly logprobs: Float64Array;
  /** 1-based rank; 0 when unscored, or when a server does not report it (see `gaps`). */
  readonly ranks: Int32Array;
  /** Entropy of the prediction at this token, bits; NaN when unscored or not reported (see `gaps`). */
  readonly entropies: Float32Array;
  /** Alternatives per token; 0 when the backend reports none (see `gaps`). */
  readonly topK: number;
  /** `topK` ids per token, most likely first; -1 pads. */
  readonly topIds: Int32Array;
  readonly topProbs: Float32Array;
  readonly exactOffsets: boolean;
  readonly summary: DocumentSummary;
  /** Leading tokens whose scores were taken from `ScoreOptions.previous`. */
  readonly reusedTokens: number;
  /** Window positions whose keys/values came from the previous scoring's cache. */
  readonly cachedPositions: number;
  /** The window layout used, so a later re-scoring can tell whether it may reuse this. */
  readonly windowSize: number;
  readonly stride: number;
  /** What the backend could not report (a remote server); absent when everything was. */
  readonly gaps?: ScoreGaps;
}

export interface NextTokenCandidate {
  readonly id: number;
  readonly text: string;
  readonly prob: number;
}

export interface NextTokens {
  readonly candidates: NextTokenCandidate[];
  readonly entropyBits: number;
}

export interface NextWordOptions {
  /** How many words (or tokens) to list; default 15. */
  readonly maxWords?: number;
  /** Step budget per token of depth: at most `beamWidth x maxTokensPerWord` prefixes are run; default 8. */
  readonly beamWidth?: number;
  /** The longest word searched, in tokens after the typed part; default 4. */
  readonly maxTokensPerWord?: number;
  /** List the raw next tokens instead (exactly `LanguageModel.predictNext`). */
  readonly rawTokens?: boolean;
  /**
   * At most this many word prefixes keep their key/value cache at a time (default 8); a
   * prefix whose cache was dropped is re-run from the context when needed (counted as a
   * step). Bounds memory for models with large caches.
   */
  readonly maxLiveStates?: number;
  /**
   * The text before the cursor ends with a complete word (generation just appended one):
   * condition on all of it and list the words that follow, rather than completions of the
   * last word; probabilities are conditioned on the next token starting a new word. Words
   * mode only; backends that list tokens ignore it.
   */
  readonly afterWord?: boolean;
}

export interface NextWord {
  /** The whole word as it would read after the conditioned text, leading space included (" hello"). */
  readonly text: string;
  /** What to insert at the cursor: `text` without the part already typed ('' when not insertable). */
  readonly completion: string;
  /** P(word | text before the cursor) (words mode) or P(token | context) (tokens mode). */
  readonly prob: number;
  /** The token ids of the most probable tokenization found (the typed part included). */
  readonly tokens: number[];
}

export interface NextWordDistribution {
  readonly words: NextWord[];
  /** Entropy of the next-token distribution after the conditioned text, in bits. */
  readonly entropyBits: number;
  /** The last few words conditioned on, the typed part of the current word included. */
  readonly contextTail: string;
  readonly mode: 'words' | 'tokens';
  /**
   * The text just before the cursor that the listed words complete: the current word's
   * typed letters with the space before it, or a trailing space; '' at a word boundary
   * (after punctuation or a newline) and always '' in tokens mode.
   */
  readonly partial: string;
  /** Whether the cursor is inside (or at the end of) a word, so the list holds completions of it. */
  readonly midWord: boolean;
  /** In mid-word mode: P(the current word ends right at the cursor), not listed because it inserts nothing. */
  readonly endsHereProb: number;
  /** P(the typed part | the text before it), summed over the tokenizations found; 1 when `partial` is ''. */
  readonly partialProb: number;
  /** True when the search proved that no unlisted word is more probable than the last listed one. */
  readonly exact: boolean;
  /** `LanguageModel.step` calls made. */
  readonly steps: number;
  /** Tokens of context conditioned on (after truncation to the window). */
  readonly contextTokens: number;
  /** Whether the context was cut to fit the model's window. */
  readonly truncated: boolean;
}

export interface ScoreSettings {
  readonly topK: number;
  /** 0 = the model's window. */
  readonly windowSize: number;
  /** 0 = half the window. */
  readonly stride: number;
}

export interface ScoredDocument {
  readonly documentKey: string;
  readonly version: number;
  readonly scores: DocumentScores;
  /** Tokens whose scores were kept from the previous version (0 for a fresh scoring). */
  readonly reusedTokens: number;
  readonly elapsedMs: number;
}
