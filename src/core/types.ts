/**
 * The vocabulary the core speaks: what a model is, a document's scores, a next-word
 * distribution, and cancellation. Types only (plus the one error class), so every layer
 * (engine, worker, host, webview) imports them without importing each other.
 */
import type { DocumentSummary } from './summary';

export interface ModelInfo {
  readonly name: string;
  readonly path: string;
  readonly modelType: string;
  readonly vocabSize: number;
  readonly contextLength: number;
  /** Tokens per scoring window (the context length, capped by `maxWindow`). */
  readonly windowSize: number;
  readonly bosTokenId: number | null;
  readonly hasKvCache: boolean;
  /** Why row statistics are computed outside the graph; null when the graph computes them (the fast path). */
  readonly inGraphScoringUnavailable: string | null;
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
  /** 1-based rank; 0 when unscored. */
  readonly ranks: Int32Array;
  /** Entropy of the prediction at this token, bits; NaN when unscored. */
  readonly entropies: Float32Array;
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
