/**
 * The seam between the editor (and the CLI) and whatever computes the scores: the local
 * ONNX model in the inference worker, or an inference server. Callers never load a model
 * themselves: every call loads on demand, and a cancelled call rejects with `CancelledError`
 * (from ./types), whichever backend it went to.
 */
import type { ModelInfo, NextWordDistribution, NextWordOptions, ScoredDocument, ScoreSettings } from './types';

/** Structurally compatible with `vscode.CancellationToken`, so the core needs no `vscode`. */
export interface CancellationSignal {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export interface ScoreJob {
  /** Identifies the document, so the backend can reuse its previous scoring. */
  readonly documentKey: string;
  readonly version: number;
  readonly text: string;
  readonly settings: ScoreSettings;
  /** Characters to score first (the visible part), reported early through `onPartial`. */
  readonly priority?: { readonly start: number; readonly end: number };
}

export interface ScoreCallbacks {
  readonly onProgress?: (scoredTokens: number, totalTokens: number) => void;
  readonly onPartial?: (partial: ScoredDocument) => void;
}

/** What a backend has loaded: the model and how its token ids read. */
export interface LoadedModel {
  readonly info: ModelInfo;
  /** Display text of a token id ('' for an id the model does not have). */
  tokenText(id: number): string;
}

export interface ScoringBackend {
  /** Loads the model if it is not loaded yet; later calls share the same load. */
  load(signal?: CancellationSignal): Promise<LoadedModel>;
  score(job: ScoreJob, signal?: CancellationSignal, callbacks?: ScoreCallbacks): Promise<ScoredDocument>;
  /** The next-word (or next-token) distribution after `context`. */
  nextWords(context: string, options: NextWordOptions, signal?: CancellationSignal): Promise<NextWordDistribution>;
  /** The document was closed: drop what was kept to re-score it incrementally. */
  release(documentKey: string): void;
  /** Stops the backend; pending calls reject. */
  dispose(): Promise<void>;
}
