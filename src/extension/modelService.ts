/**
 * The editor's only way to reach a model: `score`, `nextWords` and `release`, each loading
 * the model on demand and rejecting with `CancelledError` when cancelled. Behind it sits a
 * `ScoringBackend` (today the local inference worker); it is rebuilt when the model
 * settings change and recovered when the worker dies. Its state (idle, loading, ready,
 * error) drives the status bar and the panel.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LoadedModel, ScoreCallbacks, ScoreJob, ScoringBackend } from '../core/backend';
import { describeModel, formatParameters } from '../core/modelDescription';
import { bundledModelPath } from '../core/modelFolder';
import { CancelledError, type ModelInfo, type NextWordDistribution, type NextWordOptions, type ScoredDocument } from '../core/types';
import { RemoteBackend } from '../core/remote/remoteBackend';
import { LocalBackend } from '../worker/localBackend';
import { WorkerRequestError } from '../worker/workerClient';
import type { Settings } from './settings';

export type ModelState =
  /** Nothing loaded yet, or the model was dropped (settings changed, worker restarted). */
  | { readonly kind: 'idle' }
  | { readonly kind: 'loading'; readonly path: string }
  /** `kept`: the model the settings now name could not be loaded (the one-line reason), so this one stayed. */
  | { readonly kind: 'ready'; readonly info: ModelInfo; readonly kept?: string }
  | { readonly kind: 'error'; readonly path: string; readonly message: string };

export class ModelService implements vscode.Disposable {
  private backend: ScoringBackend;
  /** Bearer token for the inference server, from SecretStorage (never from settings). */
  private remoteApiKey: string | undefined;
  /** Asked before documents first go to an inference server; unset: they go without asking. */
  private remoteConsent: ((host: string, url: string) => Promise<boolean>) | undefined;
  private loaded: LoadedModel | undefined;
  private currentState: ModelState = { kind: 'idle' };
  private readonly stateEmitter = new vscode.EventEmitter<ModelState>();
  private readonly crashEmitter = new vscode.EventEmitter<string>();
  /** Fires with the new state whenever loading starts, succeeds or fails, or the model is dropped. */
  readonly onDidChangeState = this.stateEmitter.event;
  /** Fires after the worker died and was replaced; scores must be recomputed. */
  readonly onDidRecoverFromCrash = this.crashEmitter.event;
  /** Bumped whenever the backend is replaced; results of an older one are ignored. */
  private generation = 0;
  /**
   * The model in use before the settings named another, held (its worker alive) until the
   * new one loads: if that fails, scoring goes on with this one.
   */
  private previous: { readonly backend: ScoringBackend; readonly loaded: LoadedModel } | undefined;
  private switching: Promise<LoadedModel> | undefined;

  constructor(
    private readonly extensionPath: string,
    private settings: Settings,
    /** Where optimized graphs are kept when `settings.cacheOptimizedGraphs` ('' = nowhere). */
    private readonly graphCacheFolder = '',
  ) {
    this.backend = this.createBackend();
  }

  get state(): ModelState {
    return this.currentState;
  }

  get modelPath(): string {
    if (this.settings.remoteUrl !== '') return this.settings.remoteUrl;
    return this.settings.modelPath !== '' ? this.settings.modelPath : bundledModelPath(this.extensionPath);
  }

  /**
   * The loaded model as a person recognises it: its repository or folder name with its size
   * ("SmolLM2-135M-Instruct (q4) · 135M"); with `long`, the repository owner too. '' when
   * nothing is loaded.
   */
  displayName(long = false): string {
    if (this.currentState.kind !== 'ready') return '';
    const info = this.currentState.info;
    if (info.remote) return info.remote.label;
    let described = this.descriptions.get(info.path);
    if (described === undefined) {
      const { displayName, parameters } = describeModel(info.path, bundledModelPath(this.extensionPath), info.name);
      described = parameters ? `${displayName} \u00B7 ${formatParameters(parameters)}` : displayName;
      this.descriptions.set(info.path, described);
    }
    return long ? described : described.replace(/^[^/\s]+\//, '');
  }

  private readonly descriptions = new Map<string, string>();

  /** Display text of a token id ('' until the model is loaded). */
  tokenText(id: number): string {
    return this.loaded?.tokenText(id) ?? '';
  }

  /**
   * Loads the model if needed; rejects with the folder's problem if it cannot be loaded,
   * unless the model in use before a settings change is still held: then that one stays,
   * with the reason in its state (`kept`).
   */
  load(token?: vscode.CancellationToken): Promise<LoadedModel> {
    if (!this.previous) return this.loadCurrent(token, true);
    // Every caller waits for the one switch (it is not cancelled: the model is needed anyway).
    this.switching ??= this.switchModel().finally(() => (this.switching = undefined));
    return this.switching;
  }

  private async loadCurrent(token: vscode.CancellationToken | undefined, reportError: boolean): Promise<LoadedModel> {
    const generation = this.generation;
    const modelPath = this.modelPath;
    if (this.currentState.kind !== 'ready' && this.currentState.kind !== 'loading') this.setState({ kind: 'loading', path: modelPath });
    try {
      const loaded = await this.backend.load(token);
      if (generation === this.generation && this.currentState.kind !== 'ready') {
        this.loaded = loaded;
        this.releasePrevious();
        this.setState({ kind: 'ready', info: loaded.info });
      }
      return loaded;
    } catch (error) {
      if (reportError && generation === this.generation && !(error instanceof CancelledError)) {
        this.setState({ kind: 'error', path: modelPath, message: error instanceof Error ? error.message : String(error) });
      }
      throw error;
    }
  }

  /** Loads the model the settings now name while the previous one is held; keeps the previous one if that fails. */
  private async switchModel(): Promise<LoadedModel> {
    const generation = this.generation;
    try {
      return await this.loadCurrent(undefined, false);
    } catch (error) {
      const previous = this.previous;
      if (generation !== this.generation || !previous) throw error;
      if (error instanceof WorkerRequestError && error.info.code === 'memory-insufficient') {
        // The held model's memory may be what is missing: let it go and try once more.
        this.releasePrevious();
        return this.loadCurrent(undefined, true);
      }
      this.previous = undefined;
      const failed = this.backend;
      this.backend = previous.backend;
      this.loaded = previous.loaded;
      void failed.dispose();
      this.setState({ kind: 'ready', info: previous.loaded.info, kept: error instanceof Error ? error.message : String(error) });
      return previous.loaded;
    }
  }

  async score(job: ScoreJob, token?: vscode.CancellationToken, callbacks?: ScoreCallbacks): Promise<ScoredDocument> {
    await this.load(token);
    return this.backend.score(job, token, callbacks);
  }

  async nextWords(context: string, options: NextWordOptions, token?: vscode.CancellationToken): Promise<NextWordDistribution> {
    await this.load(token);
    return this.backend.nextWords(context, options, token);
  }

  /** The document was closed: the backend may drop what it kept for incremental re-scoring. */
  release(documentKey: string): void {
    this.backend.release(documentKey);
  }

  /**
   * New settings; replaces the backend (and so the model) when `reload` is set. A local model
   * that was ready is held until the new one loads (see `load`), so a bad folder, variant or
   * file leaves it working; a server's backend is not held (nothing to keep in memory).
   */
  update(settings: Settings, reload: boolean): void {
    this.settings = settings;
    if (!reload) return;
    const old = this.backend;
    const keep = this.currentState.kind === 'ready' && this.loaded && old instanceof LocalBackend && settings.remoteUrl === '' ? this.loaded : undefined;
    this.releasePrevious();
    this.backend = this.createBackend();
    this.dropModel();
    if (keep) this.previous = { backend: old, loaded: keep };
    else void old.dispose();
  }

  private releasePrevious(): void {
    const previous = this.previous;
    this.previous = undefined;
    void previous?.backend.dispose();
  }

  /** Whether scoring goes to an inference server (surprisalLens.remote.url is set). */
  get isRemote(): boolean {
    return this.settings.remoteUrl !== '';
  }

  /** The inference server's API key changed (read from SecretStorage by the caller); rebuilds a remote backend. */
  setRemoteApiKey(key: string | undefined): void {
    if (key === this.remoteApiKey) return;
    this.remoteApiKey = key;
    this.reconnectRemote();
  }

  /** Starts a new inference-server backend (it asks for consent again); nothing for a local model. */
  reconnectRemote(): void {
    if (this.settings.remoteUrl !== '') this.update(this.settings, true);
  }

  /**
   * Sets what is asked before a document's text first goes to an inference server (a modal
   * remembered per server, false in an untrusted workspace); a refusal fails that scoring
   * with a RemoteError whose code is 'refused'.
   */
  setRemoteConsent(ask: ((host: string, url: string) => Promise<boolean>) | undefined): void {
    this.remoteConsent = ask;
  }

  /** Stops the worker, as if it had crashed (used by tests of crash recovery). */
  async killWorker(): Promise<void> {
    if (!(this.backend instanceof LocalBackend)) return;
    await this.backend.kill('The inference worker was killed');
    this.dropModel();
    this.crashEmitter.fire('The inference worker was killed');
  }

  /** Stops the worker cleanly (awaited by `deactivate`). */
  shutdown(): Promise<void> {
    this.releasePrevious();
    return this.backend.dispose();
  }

  dispose(): void {
    this.releasePrevious();
    void this.backend.dispose();
    this.stateEmitter.dispose();
    this.crashEmitter.dispose();
  }

  private createBackend(): ScoringBackend {
    const { threads, maxWindow, modelVariant, remoteUrl, remoteModel, remoteApi, remoteMaxConcurrentRequests } = this.settings;
    // A server URL (user settings only) sends scoring there; nothing else changes for the editor.
    if (remoteUrl !== '') {
      const remote: RemoteBackend = new RemoteBackend({
        url: remoteUrl, model: remoteModel, api: remoteApi, apiKey: this.remoteApiKey, maxInFlight: remoteMaxConcurrentRequests,
        allowSending: (host, url) => (this.remoteConsent ? this.remoteConsent(host, url) : Promise.resolve(true)),
        // A server that stops answering shows as an error; when it answers again, scores are recomputed as after a worker crash.
        onAvailability: (available, message) => {
          if (this.backend !== remote) return;
          if (!available) return this.setState({ kind: 'error', path: remoteUrl, message });
          this.dropModel();
          this.crashEmitter.fire(message);
        },
      });
      return remote;
    }
    return new LocalBackend(path.join(this.extensionPath, 'dist', 'worker.js'), {
      modelPath: this.modelPath, variant: modelVariant, threads, maxWindow,
      graphCacheFolder: this.settings.cacheOptimizedGraphs ? this.graphCacheFolder : '',
    }, {
      // A runaway document makes the worker die (and be restarted), not the extension host.
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
      onCrash: (reason) => {
        this.dropModel();
        this.crashEmitter.fire(reason);
      },
    });
  }

  private dropModel(): void {
    this.generation++;
    this.loaded = undefined;
    this.setState({ kind: 'idle' });
  }

  private setState(state: ModelState): void {
    this.currentState = state;
    this.stateEmitter.fire(state);
  }
}
