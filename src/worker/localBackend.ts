/**
 * The local backend: the model runs in the inference worker (worker.ts), reached through
 * `WorkerClient`. Loads on first use, keeps the token display table, and turns the worker's
 * 'cancelled' replies into the core's one `CancelledError`.
 */
import type { CancellationSignal, LoadedModel, ScoreCallbacks, ScoreJob, ScoringBackend } from '../core/backend';
import { CancelledError, type NextWordDistribution, type NextWordOptions, type ScoredDocument } from '../core/types';
import type { LoadSettings } from '../shared/workerProtocol';
import { WorkerClient, WorkerRequestError, type WorkerClientOptions } from './workerClient';

export class LocalBackend implements ScoringBackend {
  private readonly client: WorkerClient;
  private loading: Promise<LoadedModel> | null = null;

  /**
   * `onCrash` is called when the worker died (its model with it); the next call starts a
   * fresh worker and loads again.
   */
  constructor(
    workerPath: string,
    private readonly settings: LoadSettings,
    options: Omit<WorkerClientOptions, 'onCrash'> & { readonly onCrash?: (reason: string) => void } = {},
  ) {
    this.client = new WorkerClient(workerPath, {
      ...options,
      onCrash: (reason) => {
        this.loading = null;
        options.onCrash?.(reason);
      },
    });
  }

  load(signal?: CancellationSignal): Promise<LoadedModel> {
    if (signal?.isCancellationRequested) return Promise.reject(new CancelledError());
    if (!this.loading) {
      const loading = this.client.request<'load'>({ type: 'load', settings: this.settings }).then(
        ({ info, tokenTexts }): LoadedModel => ({ info, tokenText: (id) => tokenTexts[id] ?? '' }),
      );
      this.loading = loading;
      // A failed load is forgotten, so the next call (after the folder was fixed) tries again.
      loading.catch(() => {
        if (this.loading === loading) this.loading = null;
      });
    }
    return translated(this.loading, signal);
  }

  async score(job: ScoreJob, signal?: CancellationSignal, callbacks: ScoreCallbacks = {}): Promise<ScoredDocument> {
    await this.load(signal);
    if (signal?.isCancellationRequested) throw new CancelledError();
    return translated(this.client.request<'score'>({ type: 'score', ...job }, signal, callbacks.onProgress, callbacks.onPartial));
  }

  async nextWords(context: string, options: NextWordOptions, signal?: CancellationSignal): Promise<NextWordDistribution> {
    await this.load(signal);
    if (signal?.isCancellationRequested) throw new CancelledError();
    return translated(this.client.request<'nextWords'>({ type: 'nextWords', context, options }, signal));
  }

  release(documentKey: string): void {
    // A worker that is not running keeps nothing to release.
    if (this.client.running) void this.client.request<'forget'>({ type: 'forget', documentKey }).catch(() => undefined);
  }

  /** Stops the worker as if it had crashed (the extension's API uses it to test recovery). */
  async kill(reason: string): Promise<void> {
    this.loading = null;
    await this.client.terminate(reason);
  }

  dispose(): Promise<void> {
    this.loading = null;
    return this.client.dispose();
  }
}

/** The promise, with the worker's cancellation replies as `CancelledError`; rejected early if `signal` fires. */
function translated<T>(promise: Promise<T>, signal?: CancellationSignal): Promise<T> {
  const mapped = promise.catch((error: unknown) => {
    throw error instanceof WorkerRequestError && error.cancelled ? new CancelledError() : error;
  });
  if (!signal) return mapped;
  return new Promise<T>((resolve, reject) => {
    const subscription = signal.onCancellationRequested(() => reject(new CancelledError()));
    mapped.then(resolve, reject).finally(() => subscription.dispose());
  });
}
