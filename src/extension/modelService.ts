/**
 * The model's lifetime in the editor: loaded lazily in the inference worker on first use,
 * reloaded when the model settings change, recovered when the worker dies.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelInfo } from '../core/engine';
import { bundledModelPath } from '../core/modelFolder';
import type { ModelLoaded } from '../core/protocol';
import { WorkerClient, WorkerRequestError } from '../core/workerClient';
import type { Settings } from './settings';

export type ModelState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'loading'; readonly path: string }
  | { readonly kind: 'ready'; readonly info: ModelInfo }
  | { readonly kind: 'error'; readonly path: string; readonly message: string };

export class ModelService implements vscode.Disposable {
  readonly client: WorkerClient;
  private loaded: Promise<ModelLoaded> | null = null;
  private tokenTexts: string[] = [];
  private currentState: ModelState = { kind: 'idle' };
  private readonly stateEmitter = new vscode.EventEmitter<ModelState>();
  private readonly crashEmitter = new vscode.EventEmitter<string>();
  /** Fires with the new state whenever loading starts, succeeds or fails. */
  readonly onDidChangeState = this.stateEmitter.event;
  /** Fires after the worker died and was replaced; scores must be recomputed. */
  readonly onDidRecoverFromCrash = this.crashEmitter.event;
  private generation = 0;

  constructor(
    private readonly extensionPath: string,
    private settings: Settings,
  ) {
    this.client = new WorkerClient(path.join(extensionPath, 'dist', 'worker.js'), {
      // A runaway document makes the worker die (and be restarted), not the extension host.
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
      onCrash: (reason) => {
        this.loaded = null;
        this.setState({ kind: 'idle' });
        this.crashEmitter.fire(reason);
      },
    });
  }

  get state(): ModelState {
    return this.currentState;
  }

  get modelPath(): string {
    return this.settings.modelPath !== '' ? this.settings.modelPath : bundledModelPath(this.extensionPath);
  }

  /** Display text of a token id (empty until the model is loaded). */
  tokenText(id: number): string {
    return this.tokenTexts[id] ?? '';
  }

  /** Loads the model if needed; rejects with the folder's problem if it cannot be loaded. */
  ensureLoaded(): Promise<ModelLoaded> {
    if (this.loaded) return this.loaded;
    const generation = ++this.generation;
    const modelPath = this.modelPath;
    this.setState({ kind: 'loading', path: modelPath });
    const loading = this.client.request<'load'>({
      type: 'load',
      settings: { modelPath, threads: this.settings.threads, maxWindow: this.settings.maxWindow },
    });
    this.loaded = loading;
    loading.then(
      (result) => {
        if (generation !== this.generation) return;
        this.tokenTexts = result.tokenTexts;
        this.setState({ kind: 'ready', info: result.info });
      },
      (error: unknown) => {
        if (generation !== this.generation) return;
        // Forget the failure so the next use (e.g. after fixing the setting) tries again.
        this.loaded = null;
        const message = error instanceof WorkerRequestError || error instanceof Error ? error.message : String(error);
        this.setState({ kind: 'error', path: modelPath, message });
      },
    );
    return loading;
  }

  /** New settings; reloads the model when `reload` is set. */
  update(settings: Settings, reload: boolean): void {
    this.settings = settings;
    if (!reload) return;
    this.loaded = null;
    this.tokenTexts = [];
    this.generation++;
    this.setState({ kind: 'idle' });
  }

  /** Stops the worker, as if it had crashed (used by tests of crash recovery). */
  async killWorker(): Promise<void> {
    await this.client.terminate('The inference worker was killed');
    this.loaded = null;
    this.setState({ kind: 'idle' });
    this.crashEmitter.fire('The inference worker was killed');
  }

  /** Stops the worker cleanly (awaited by `deactivate`). */
  shutdown(): Promise<void> {
    return this.client.dispose();
  }

  dispose(): void {
    void this.client.dispose();
    this.stateEmitter.dispose();
    this.crashEmitter.dispose();
  }

  private setState(state: ModelState): void {
    this.currentState = state;
    this.stateEmitter.fire(state);
  }
}
