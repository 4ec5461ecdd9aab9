/**
 * Scores of open documents: one scoring job per document at a time, debounced after edits,
 * stale jobs cancelled, and a result never attached to a document version other than the
 * one it was computed for.
 */
import * as vscode from 'vscode';
import { CancelledError, type DocumentScores } from '../core/types';
import type { ModelService } from './modelService';
import type { Settings } from './settings';
import { offsetsWithMargin } from './visibleText';

export interface ScoreEntry {
  readonly uri: vscode.Uri;
  readonly version: number;
  readonly scores: DocumentScores;
  readonly reusedTokens: number;
  readonly elapsedMs: number;
}

export class DocumentTooLargeError extends Error {
  constructor(length: number, limit: number) {
    super(`The document has ${length.toLocaleString('en-US')} characters, more than the limit of ${limit.toLocaleString('en-US')} (setting surprisalLens.maxDocumentLength)`);
    this.name = 'DocumentTooLargeError';
  }
}

interface Job {
  readonly version: number;
  readonly promise: Promise<ScoreEntry>;
  readonly cancellation: vscode.CancellationTokenSource;
}

export type ScoringProgress = { readonly uri: vscode.Uri; readonly scored: number; readonly total: number };

export class ScoreStore implements vscode.Disposable {
  private readonly entries = new Map<string, ScoreEntry>();
  private readonly jobs = new Map<string, Job>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly updated = new vscode.EventEmitter<ScoreEntry>();
  private readonly failed = new vscode.EventEmitter<{ uri: vscode.Uri; error: Error }>();
  private readonly progress = new vscode.EventEmitter<ScoringProgress>();
  private readonly partials = new Map<string, ScoreEntry>();
  private readonly partialEmitter = new vscode.EventEmitter<ScoreEntry>();
  /** The visible part of a long document was scored; the rest is coming. */
  readonly onDidScorePartially = this.partialEmitter.event;
  readonly onDidUpdate = this.updated.event;
  readonly onDidFail = this.failed.event;
  readonly onDidProgress = this.progress.event;

  constructor(
    private readonly model: ModelService,
    private settings: Settings,
  ) {}

  updateSettings(settings: Settings, invalidate: boolean): void {
    this.settings = settings;
    if (invalidate) this.clear();
  }

  /** Whether this document is one the extension scores (scheme, language, settings). */
  isEligible(document: vscode.TextDocument): boolean {
    if (document.uri.scheme !== 'file' && document.uri.scheme !== 'untitled') return false;
    const { enabledLanguages, excludedLanguages } = this.settings;
    if (excludedLanguages.includes(document.languageId)) return false;
    return enabledLanguages.includes('*') || enabledLanguages.includes(document.languageId);
  }

  /** Scores for exactly this version of the document, if computed. */
  current(document: vscode.TextDocument): ScoreEntry | undefined {
    const entry = this.entries.get(document.uri.toString());
    return entry && entry.version === document.version ? entry : undefined;
  }

  /**
   * Scores of the visible part of this version while the rest is still being scored
   * (tokens not scored yet are NaN); undefined once complete scores exist.
   */
  partial(document: vscode.TextDocument): ScoreEntry | undefined {
    const entry = this.partials.get(document.uri.toString());
    return entry && entry.version === document.version ? entry : undefined;
  }

  /** The most recent scores of the document, possibly for an older version. */
  latest(uri: vscode.Uri): ScoreEntry | undefined {
    return this.entries.get(uri.toString());
  }

  /** Resolves when no scoring is pending or running for the document. */
  async whenIdle(uri: vscode.Uri): Promise<void> {
    const key = uri.toString();
    for (;;) {
      const job = this.jobs.get(key);
      if (job) {
        await job.promise.catch(() => undefined);
        continue;
      }
      if (!this.timers.has(key)) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Scores the current version now (or joins the job already doing it). */
  scoreNow(document: vscode.TextDocument, token?: vscode.CancellationToken): Promise<ScoreEntry> {
    const key = document.uri.toString();
    this.clearTimer(key);
    const ready = this.current(document);
    if (ready) return Promise.resolve(ready);
    const running = this.jobs.get(key);
    if (running && running.version === document.version) return withCancellation(running.promise, token);
    running?.cancellation.cancel();
    const job = this.startJob(document);
    return withCancellation(job.promise, token);
  }

  /** Scores after the debounce delay (typing keeps postponing it). */
  schedule(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    this.clearTimer(key);
    const running = this.jobs.get(key);
    if (running && running.version !== document.version) running.cancellation.cancel();
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.scoreNow(document).catch(() => undefined); // failures are reported through onDidFail
      }, this.settings.debounceMs),
    );
  }

  forget(uri: vscode.Uri): void {
    const key = uri.toString();
    this.clearTimer(key);
    this.jobs.get(key)?.cancellation.cancel();
    this.jobs.delete(key);
    this.entries.delete(key);
    this.partials.delete(key);
    this.model.release(key);
  }

  clear(): void {
    for (const job of this.jobs.values()) job.cancellation.cancel();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.jobs.clear();
    this.timers.clear();
    this.entries.clear();
    this.partials.clear();
  }

  dispose(): void {
    this.clear();
    this.updated.dispose();
    this.failed.dispose();
    this.progress.dispose();
    this.partialEmitter.dispose();
  }

  /**
   * How long a document must be to have its visible part scored first: shorter with a large
   * model, an inference server, or a model not loaded yet (a cold start, where the first
   * colours matter most; the engine decides itself whether to preview, see `priorityOrder`).
   */
  private priorityMinChars(): number {
    const state = this.model.state;
    const bytes = state.kind === 'ready' && !state.info.remote ? state.info.variant?.bytes : undefined;
    return bytes !== undefined && bytes < LARGE_MODEL_BYTES ? PRIORITY_MIN_CHARS : PRIORITY_MIN_CHARS_LARGE_MODEL;
  }

  private startJob(document: vscode.TextDocument): Job {
    const key = document.uri.toString();
    const version = document.version;
    const text = document.getText();
    const cancellation = new vscode.CancellationTokenSource();
    const promise = (async (): Promise<ScoreEntry> => {
      if (text.length > this.settings.maxDocumentLength) throw new DocumentTooLargeError(text.length, this.settings.maxDocumentLength);
      const { topK, windowSize, stride } = this.settings;
      const priority = text.length >= this.priorityMinChars() ? visibleRange(document) : undefined;
      const result = await this.model.score(
        { documentKey: key, version, text, settings: { topK, windowSize, stride }, ...(priority ? { priority } : {}) },
        cancellation.token,
        {
          onProgress: (scored, total) => this.progress.fire({ uri: document.uri, scored, total }),
          onPartial: (partial) => {
            if (cancellation.token.isCancellationRequested) return;
            const entry = { uri: document.uri, version, scores: partial.scores, reusedTokens: partial.reusedTokens, elapsedMs: partial.elapsedMs };
            this.partials.set(key, entry);
            this.partialEmitter.fire(entry);
          },
        },
      );
      return { uri: document.uri, version, scores: result.scores, reusedTokens: result.reusedTokens, elapsedMs: result.elapsedMs };
    })();
    const job: Job = { version, promise, cancellation };
    this.jobs.set(key, job);
    promise.then(
      (entry) => {
        const previous = this.entries.get(key);
        if (this.partials.get(key)?.version === entry.version) this.partials.delete(key);
        if (!previous || previous.version <= entry.version) {
          this.entries.set(key, entry);
          this.updated.fire(entry);
        }
      },
      (error: Error) => {
        if (!(error instanceof CancelledError)) this.failed.fire({ uri: document.uri, error });
      },
    ).finally(() => {
      if (this.jobs.get(key) === job) this.jobs.delete(key);
      cancellation.dispose();
    });
    return job;
  }

  private clearTimer(key: string): void {
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
  }
}

/** Documents at least this long score the visible part first (the bundled model scores 20,000 characters in about a second). */
const PRIORITY_MIN_CHARS = 20_000;
/** With a model whose files are at least this large (a window takes seconds), documents from PRIORITY_MIN_CHARS_LARGE_MODEL on. */
const LARGE_MODEL_BYTES = 100e6;
const PRIORITY_MIN_CHARS_LARGE_MODEL = 1_000;
/** The character range shown in the editors of this document, with a margin. */
function visibleRange(document: vscode.TextDocument): { start: number; end: number } | undefined {
  const ranges = vscode.window.visibleTextEditors.filter((e) => e.document === document).flatMap((e) => e.visibleRanges);
  if (ranges.length === 0) return undefined;
  return offsetsWithMargin(document, Math.min(...ranges.map((r) => r.start.line)), Math.max(...ranges.map((r) => r.end.line)));
}

/** The promise, rejected early if the caller's token is cancelled (the job itself goes on). */
function withCancellation<T>(promise: Promise<T>, token: vscode.CancellationToken | undefined): Promise<T> {
  if (!token) return promise;
  return new Promise<T>((resolve, reject) => {
    const subscription = token.onCancellationRequested(() => reject(new CancelledError()));
    promise.then(resolve, reject).finally(() => subscription.dispose());
  });
}
