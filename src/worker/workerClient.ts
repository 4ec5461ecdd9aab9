/**
 * The host side of the inference worker's messages: typed requests matched to replies by
 * id, progress, cancellation, and a fresh worker when the old one dies. No `vscode`
 * import, so it is tested directly. `LocalBackend` (localBackend.ts) is its only user in
 * the product.
 */
import { Worker } from 'node:worker_threads';
import type { CancellationSignal } from '../core/backend';
import type { ScoredDocument } from '../core/types';
import type { FromWorker, ResultOf, ToWorker, WorkerErrorInfo } from '../shared/workerProtocol';


export class WorkerRequestError extends Error {
  constructor(readonly info: WorkerErrorInfo) {
    super(info.message);
    this.name = 'WorkerRequestError';
  }
  get cancelled(): boolean {
    return this.info.code === 'cancelled';
  }
}

type RequestOf<T extends ToWorker['type']> = Omit<Extract<ToWorker, { type: T }>, 'id'>;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (scored: number, total: number) => void;
  onPartial?: (partial: ScoredDocument) => void;
}

export interface WorkerClientOptions {
  /** Called when the worker exits unexpectedly (after pending requests were failed). */
  readonly onCrash?: (reason: string) => void;
  /** Resource limits for the worker's V8 heap. */
  readonly resourceLimits?: { maxOldGenerationSizeMb?: number };
  /** Node options for the worker (tests run the TypeScript source through tsx). */
  readonly execArgv?: string[];
}

export class WorkerClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;

  constructor(
    private readonly workerPath: string,
    private readonly options: WorkerClientOptions = {},
  ) {}

  /** Whether a worker thread is currently running. */
  get running(): boolean {
    return this.worker !== null;
  }

  request<T extends 'load' | 'score' | 'nextWords' | 'forget'>(
    message: RequestOf<T>,
    signal?: CancellationSignal,
    onProgress?: (scored: number, total: number) => void,
    onPartial?: (partial: ScoredDocument) => void,
  ): Promise<ResultOf[T]> {
    if (this.disposed) return Promise.reject(new WorkerRequestError({ code: 'internal', message: 'The inference worker was shut down' }));
    if (signal?.isCancellationRequested) return Promise.reject(new WorkerRequestError({ code: 'cancelled', message: 'Cancelled' }));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<ResultOf[T]>((resolve, reject) => {
      const subscription = signal?.onCancellationRequested(() => worker.postMessage({ type: 'cancel', id } satisfies ToWorker));
      const settle = () => subscription?.dispose();
      this.pending.set(id, {
        resolve: (value) => {
          settle();
          resolve(value as ResultOf[T]);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        onProgress,
        onPartial,
      });
      worker.postMessage({ ...message, id } as ToWorker);
    });
  }

  /**
   * Stops the worker (a later request starts a new one); pending requests fail at once.
   * The worker is asked to finish first and terminated only if it does not within
   * `graceMs`: terminating it inside an ONNX Runtime run would abort the whole process.
   */
  async terminate(reason = 'The inference worker was stopped', graceMs = 3000): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failAll(reason);
    if (!worker) return;
    worker.removeAllListeners('exit');
    const exited = new Promise<boolean>((resolve) => worker.once('exit', () => resolve(true)));
    worker.postMessage({ type: 'shutdown', id: this.nextId++ } satisfies ToWorker);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const finished = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (!finished) await worker.terminate();
  }

  dispose(): Promise<void> {
    if (!this.disposal) {
      this.disposed = true;
      this.disposal = this.terminate('The inference worker was shut down');
    }
    return this.disposal;
  }

  private disposal: Promise<void> | null = null;

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerPath, {
      ...(this.options.resourceLimits ? { resourceLimits: this.options.resourceLimits } : {}),
      ...(this.options.execArgv ? { execArgv: this.options.execArgv } : {}),
    });
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) => {
      // An uncaught exception in the worker; 'exit' follows and does the recovery.
      this.lastError = error.message;
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const reason = `The inference worker stopped unexpectedly (exit code ${code}${this.lastError ? `: ${this.lastError}` : ''})`;
      this.lastError = undefined;
      this.failAll(reason);
      if (!this.disposed) this.options.onCrash?.(reason);
    });
    this.worker = worker;
    return worker;
  }

  private lastError: string | undefined;

  private onMessage(message: FromWorker): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'progress') {
      pending.onProgress?.(message.scoredTokens, message.totalTokens);
      return;
    }
    if (message.type === 'partial') {
      pending.onPartial?.(message.result);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'error') pending.reject(new WorkerRequestError(message.error));
    else if (message.type === 'done') pending.resolve(undefined);
    else pending.resolve(message.result);
  }

  private failAll(reason: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new WorkerRequestError({ code: 'internal', message: reason }));
  }
}
