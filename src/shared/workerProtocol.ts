/**
 * Messages between the extension host and the inference worker. One discriminated union per
 * direction; replies carry the id of the request they answer.
 */
import type { ModelFolderErrorCode } from '../core/modelFolder';
import type { ModelInfo, NextWordDistribution, NextWordOptions, ScoredDocument, ScoreSettings } from '../core/types';

export interface LoadSettings {
  readonly modelPath: string;
  /** surprisalLens.modelVariant: a variant name or graph path; '' lets the folder choose. */
  readonly variant?: string;
  readonly threads: number;
  readonly maxWindow: number;
  /** Where ONNX Runtime's optimized graphs are kept between loads (absent or '' = not kept). */
  readonly graphCacheFolder?: string;
}

export interface LoadRequest {
  readonly type: 'load';
  readonly id: number;
  readonly settings: LoadSettings;
}

export interface ScoreRequest {
  readonly type: 'score';
  readonly id: number;
  /** Identifies the document, so the worker can reuse the previous scoring of it. */
  readonly documentKey: string;
  readonly version: number;
  readonly text: string;
  readonly settings: ScoreSettings;
  /** Characters to score first (the visible part), reported early as a 'partial' message. */
  readonly priority?: { readonly start: number; readonly end: number };
}

export interface NextWordsRequest {
  readonly type: 'nextWords';
  readonly id: number;
  /** The text before the cursor. */
  readonly context: string;
  readonly options: NextWordOptions;
}

export interface CancelRequest {
  readonly type: 'cancel';
  /** The id of the request to abandon. */
  readonly id: number;
}

export interface ForgetRequest {
  readonly type: 'forget';
  readonly id: number;
  readonly documentKey: string;
}

/**
 * Asks the worker to finish: pending work is cancelled, the model's sessions released, and
 * the thread ends by itself. Terminating a thread while ONNX Runtime is inside a run
 * aborts the whole process (a Napi::Error thrown during teardown), so this comes first.
 */
export interface ShutdownRequest {
  readonly type: 'shutdown';
  readonly id: number;
}

export type ToWorker = LoadRequest | ScoreRequest | NextWordsRequest | CancelRequest | ForgetRequest | ShutdownRequest;

export interface ModelLoaded {
  readonly info: ModelInfo;
  /** How every token id reads on its own, for hovers and panels. */
  readonly tokenTexts: string[];
}

export interface WorkerErrorInfo {
  /** A model-folder problem code, `cancelled`, or `internal`. */
  readonly code: ModelFolderErrorCode | 'cancelled' | 'no-model' | 'internal';
  readonly message: string;
}

export type Reply =
  | { readonly type: 'loaded'; readonly id: number; readonly result: ModelLoaded }
  | { readonly type: 'scored'; readonly id: number; readonly result: ScoredDocument }
  | { readonly type: 'nextWords'; readonly id: number; readonly result: NextWordDistribution }
  | { readonly type: 'done'; readonly id: number };

export interface ProgressMessage {
  readonly type: 'progress';
  readonly id: number;
  readonly scoredTokens: number;
  readonly totalTokens: number;
}

/** Scores of the priority range, before the rest of the document is done. */
export interface PartialMessage {
  readonly type: 'partial';
  readonly id: number;
  readonly result: ScoredDocument;
}

export interface ErrorMessage {
  readonly type: 'error';
  readonly id: number;
  readonly error: WorkerErrorInfo;
}

export type FromWorker = Reply | ProgressMessage | PartialMessage | ErrorMessage;

/** The result type each request is answered with. */
export interface ResultOf {
  load: ModelLoaded;
  score: ScoredDocument;
  nextWords: NextWordDistribution;
  cancel: void;
  forget: void;
}
