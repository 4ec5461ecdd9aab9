/**
 * Compare with Model...: a second model scores the same documents, and the heatmap, hover,
 * status bar and panel show where the two disagree, word by word (core/comparison.ts).
 *
 * The second model has its own `ModelService` (so its own local worker) and its own
 * `ScoreStore`, created when comparing starts and disposed by Stop Comparing; the first
 * model is untouched, so loading the second never blocks the first's hover and heatmap,
 * and both stores cancel their jobs on an edit as usual. A second model that cannot be
 * loaded is reported in one line and comparing does not start.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareWords, type WordComparison } from '../core/comparison';
import { listDownloadedModels } from '../core/hub/store';
import { bundledModelPath } from '../core/modelFolder';
import { CancelledError, type DocumentScores } from '../core/types';
import { ModelService } from './modelService';
import { ScoreStore, type ScoreEntry } from './scoreStore';
import type { Settings } from './settings';

interface Second {
  readonly model: ModelService;
  readonly store: ScoreStore;
  readonly modelPath: string;
  readonly disposables: vscode.Disposable[];
}

export class ModelComparison implements vscode.Disposable {
  private second: Second | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly updated = new vscode.EventEmitter<ScoreEntry>();
  /** Comparing started or stopped. */
  readonly onDidChange = this.changed.event;
  /** The second model scored a document. */
  readonly onDidUpdate = this.updated.event;
  /** Comparisons per pair of scorings, computed once. */
  private readonly cache = new WeakMap<DocumentScores, { second: DocumentScores; comparison: WordComparison }>();

  constructor(
    private readonly extensionPath: string,
    /** ModelService's optimized-graph folder, shared with the first model. */
    private readonly graphCacheFolder: string,
    private settings: Settings,
    private readonly first: ScoreStore,
  ) {}

  get isComparing(): boolean {
    return this.second !== undefined;
  }

  /** The second model's service while comparing (its display name, its state). */
  get secondModel(): ModelService | undefined {
    return this.second?.model;
  }

  /**
   * Starts comparing with the model in `modelPath` (replacing a previous second model).
   * Resolves true once it is loaded; false when it could not be (the reason was shown).
   */
  async start(modelPath: string): Promise<boolean> {
    this.stop();
    const model = new ModelService(this.extensionPath, { ...this.settings, modelPath, remoteUrl: '' }, this.graphCacheFolder);
    const store = new ScoreStore(model, this.settings);
    const second: Second = { model, store, modelPath, disposables: [] };
    this.second = second;
    second.disposables.push(
      store.onDidUpdate((entry) => this.updated.fire(entry)),
      // Its worker died and was replaced: its scores are gone; listeners score the visible documents again.
      model.onDidRecoverFromCrash(() => {
        store.clear();
        this.changed.fire();
      }),
    );
    this.changed.fire();
    try {
      await model.load();
    } catch (error) {
      if (this.second !== second) return false;
      this.stop();
      if (!(error instanceof CancelledError)) {
        void vscode.window.showErrorMessage(`Surprisal Lens: cannot compare with ${path.basename(modelPath)}: ${(error as Error).message}`);
      }
      return false;
    }
    return this.second === second;
  }

  /** Back to one model: the second model's worker is stopped. */
  stop(): void {
    const second = this.second;
    if (!second) return;
    this.second = undefined;
    for (const d of second.disposables) d.dispose();
    second.store.dispose();
    second.model.dispose();
    this.changed.fire();
  }

  /** Re-scores `document` with the second model after an edit (debounced as the first is). */
  schedule(document: vscode.TextDocument): void {
    this.second?.store.schedule(document);
  }

  /** Scores `document` with the second model if it has no current scores. */
  ensureScored(document: vscode.TextDocument): void {
    const second = this.second;
    if (!second || !second.store.isEligible(document) || second.store.current(document)) return;
    second.store.scoreNow(document).catch(() => undefined);
  }

  forget(uri: vscode.Uri): void {
    this.second?.store.forget(uri);
  }

  /** The second model's scores of the document's current version. */
  secondEntry(document: vscode.TextDocument): ScoreEntry | undefined {
    return this.second?.store.current(document);
  }

  /** The word-by-word comparison of the document's current version, once both models scored it. */
  comparisonFor(document: vscode.TextDocument): WordComparison | undefined {
    const firstEntry = this.first.current(document);
    const secondEntry = this.secondEntry(document);
    if (!firstEntry || !secondEntry) return undefined;
    const cached = this.cache.get(firstEntry.scores);
    if (cached?.second === secondEntry.scores) return cached.comparison;
    const comparison = compareWords(document.getText(), firstEntry.scores, secondEntry.scores);
    this.cache.set(firstEntry.scores, { second: secondEntry.scores, comparison });
    return comparison;
  }

  updateSettings(settings: Settings, invalidate: boolean): void {
    this.settings = settings;
    const second = this.second;
    if (!second) return;
    // The second model keeps its own folder; threads and window follow the settings.
    second.model.update({ ...settings, modelPath: second.modelPath, remoteUrl: '' }, invalidate);
    second.store.updateSettings(settings, invalidate);
  }

  dispose(): void {
    this.stop();
    this.changed.dispose();
    this.updated.dispose();
  }
}

/** The models a person can compare with: the bundled one, the downloaded ones, or a folder. */
export async function pickComparisonModel(extensionPath: string, hubCacheDir: string, current: string): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { readonly modelPath?: string; readonly chooseFolder?: boolean };
  const bundled = bundledModelPath(extensionPath);
  const items: Item[] = [{ label: 'Bundled model', description: path.basename(bundled), detail: bundled, modelPath: bundled }];
  // Other model folders shipped with the extension (the tiny test model, in a development checkout).
  const shipped = path.join(extensionPath, 'models');
  for (const name of existsSync(shipped) ? readdirSync(shipped).sort() : []) {
    const folder = path.join(shipped, name);
    if (folder !== bundled && existsSync(path.join(folder, 'config.json'))) items.push({ label: `Bundled: ${name}`, description: 'shipped with the extension', detail: folder, modelPath: folder });
  }
  for (const m of await listDownloadedModels(hubCacheDir).catch(() => [])) {
    items.push({ label: m.repo, description: `${m.dtype} · downloaded`, detail: m.path, modelPath: m.path });
  }
  items.push({ label: 'Choose a model folder…', chooseFolder: true });
  for (const item of items) if (item.modelPath && path.resolve(item.modelPath) === path.resolve(current)) item.description = `${item.description ?? ''} (the model in use)`.trim();
  const picked = await vscode.window.showQuickPick(items, { title: 'Compare with Model', placeHolder: 'The second model: the heatmap shows where it needs more or fewer bits than the model in use' });
  if (!picked) return undefined;
  if (!picked.chooseFolder) return picked.modelPath;
  const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Compare with this model' });
  return folder?.[0]?.fsPath;
}
