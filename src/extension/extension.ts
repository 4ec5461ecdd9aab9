/**
 * Entry point: wires the features together. Activation is cheap (no model, no worker); the
 * model loads in the inference worker the first time something needs scores.
 */
import { join } from 'node:path';
import * as vscode from 'vscode';
import { legend } from '../core/colorBins';
import { listModelVariants, type ModelVariant } from '../core/modelFolder';
import { differenceLegend } from '../core/comparison';
import type { GenerationRule } from '../core/generation';
import { CancelledError } from '../core/types';
import { ModelComparison, pickComparisonModel } from './comparison';
import { registerDownloadCommands } from './downloadModel';
import { registerRemoteAccess } from './remoteAccess';
import { Heatmap } from './heatmap';
import { SHOW_PANEL_COMMAND, SurprisalHoverProvider } from './hover';
import { ModelService } from './modelService';
import type { GenerationSnapshot } from './generation';
import { goToSurprising, surprisalDiagnostics } from './navigation';
import { NextWordPanel, type NextWordPanelSnapshot } from './nextWordPanel';
import { DocumentTooLargeError, ScoreStore, type ScoreEntry } from './scoreStore';
import { affects, MODEL_KEYS, readSettings, SCORING_KEYS, SECTION } from './settings';
import { StatusBar } from './statusBar';

/** Documents longer than this get a cancellable progress notification while scored. */
const PROGRESS_NOTIFICATION_CHARS = 100_000;

/** What `activate` returns: used by the extension-host tests, stable for other extensions. */
export interface SurprisalLensApi {
  scoreDocument(uri: vscode.Uri): Promise<{ version: number; tokenCount: number; summary: ScoreEntry['scores']['summary'] }>;
  isHeatmapEnabled(): boolean;
  heatmapRangeCount(editor: vscode.TextEditor): number;
  whenIdle(uri: vscode.Uri): Promise<void>;
  lastScoredVersion(uri: vscode.Uri): number | undefined;
  /** Kills the inference worker, to test recovery. */
  killWorker(): Promise<void>;
  /** What the Next-Word panel lists now (undefined when it is closed). */
  nextWordPanelSnapshot(): NextWordPanelSnapshot | undefined;
  /** Inserts the panel's candidate at `index`, exactly as a click on it does. */
  insertNextWord(index: number): Promise<boolean>;
  /** The model's state: idle, loading, ready, or error with the reason. */
  modelState(): { kind: string; message?: string; name?: string; variant?: string; kept?: string };
  /** Appends `count` words at the panel's cursor picked by `rule`, as its Step / Generate buttons do; resolves with the history when the run ends. */
  generateNextWords(count: number, rule: GenerationRule): Promise<GenerationSnapshot | undefined>;
  /** Removes the last generated word, as the panel's Undo step button does. */
  undoGenerationStep(): Promise<boolean>;
  /** Starts comparing with the model in `modelPath`, as Compare with Model... does; true once it loaded. */
  compareWithModel(modelPath: string): Promise<boolean>;
  stopComparing(): void;
  /** What the heatmap colours: 'surprisal', 'rank' or 'difference' (two models compared). */
  heatmapMode(): string;
  /** The document's words compared, once both models scored its current version. */
  comparedWords(uri: vscode.Uri): { count: number; bitsA: number[]; bitsB: number[]; difference: number[]; secondBitsPerByte: number } | undefined;
}

/** Kept so `deactivate` can wait for the worker to stop cleanly. */
let activeModel: ModelService | undefined;

export function activate(context: vscode.ExtensionContext): SurprisalLensApi {
  const lens = new SurprisalLens(context);
  activeModel = lens.model;
  // A download that replaced the files of the model in use reloads it (its path did not change).
  registerDownloadCommands(context, { reloadModel: () => lens.reloadModel() });
  return lens.api();
}

/** The features, wired together, and the policy of which documents stay scored. */
class SurprisalLens {
  private settings = readSettings();
  readonly model: ModelService;
  private readonly store: ScoreStore;
  private readonly comparison: ModelComparison;
  private readonly heatmap: Heatmap;
  private readonly status: StatusBar;
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('surprisalLens');
  /** Problems already shown, so each is told once, not on every keystroke. */
  private readonly shownErrors = new Set<string>();

  constructor(private readonly context: vscode.ExtensionContext) {
    // Optimized graphs of the models loaded last (each as large as its model file).
    const graphCache = join(context.globalStorageUri.fsPath, 'graph-cache');
    this.model = new ModelService(context.extensionPath, this.settings, graphCache);
    this.store = new ScoreStore(this.model, this.settings);
    this.comparison = new ModelComparison(context.extensionPath, graphCache, this.settings, this.store);
    this.heatmap = new Heatmap(this.store, this.settings, context.workspaceState);
    this.status = new StatusBar(this.model, this.store, this.heatmap, this.comparison);
    context.subscriptions.push(this.model, this.store, this.comparison, this.heatmap, this.status, this.diagnostics, { dispose: () => NextWordPanel.current?.dispose() });
    context.subscriptions.push(
      vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }], new SurprisalHoverProvider(this.store, this.model, this.heatmap, this.comparison)),
      ...this.registerCommands(),
      ...registerRemoteAccess(context, this.model),
      ...this.followDocuments(),
      ...this.reportProblems(),
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
    );
    if (this.heatmap.isEnabled) this.scoreVisible();
  }

  /**
   * Which documents are kept scored, i.e. re-scored after each edit: those the heatmap
   * shows (heatmap on, document in a visible editor) and the one the Next-Word panel
   * follows. A hover or Score Document scores a document once, on demand; that alone does
   * not keep it scored.
   */
  private keepsScored(document: vscode.TextDocument): boolean {
    if (!this.store.isEligible(document)) return false;
    const shownByHeatmap = this.heatmap.isEnabled && vscode.window.visibleTextEditors.some((editor) => editor.document === document);
    return shownByHeatmap || NextWordPanel.isFollowing(document);
  }

  private registerCommands(): vscode.Disposable[] {
    const setModelPath = (value: string) => vscode.workspace.getConfiguration(SECTION).update('modelPath', value, vscode.ConfigurationTarget.Global);
    return [
      vscode.commands.registerCommand('surprisalLens.scoreDocument', () => this.scoreActiveDocument()),
      vscode.commands.registerCommand('surprisalLens.toggleHeatmap', async () => {
        await this.heatmap.setEnabled(!this.heatmap.isEnabled);
        this.status.render();
        NextWordPanel.current?.refresh();
        if (this.heatmap.isEnabled) this.scoreVisible();
      }),
      vscode.commands.registerCommand(SHOW_PANEL_COMMAND, (target?: { uri?: string; offset?: number }) => {
        // Arguments come from our own hover link; anything else is ignored.
        const editor = vscode.window.visibleTextEditors.find((e) => typeof target?.uri === 'string' && e.document.uri.toString() === target.uri) ?? vscode.window.activeTextEditor;
        const offset = typeof target?.offset === 'number' && Number.isInteger(target.offset) ? target.offset : undefined;
        NextWordPanel.show({
          extensionUri: this.context.extensionUri,
          model: this.model,
          store: this.store,
          settings: () => this.settings,
          legend: (languageId) => {
            if (this.comparison.isComparing) return { type: 'legend', mode: 'difference', granularity: 'word', enabled: this.heatmap.isEnabled, entries: differenceLegend() };
            const scheme = this.heatmap.scheme();
            return { type: 'legend', mode: scheme.mode, granularity: this.heatmap.granularityFor(languageId), enabled: this.heatmap.isEnabled, entries: legend(scheme) };
          },
        }, editor, offset);
      }),
      vscode.commands.registerCommand('surprisalLens.nextSurprising', () => goToSurprising(this.store, this.settings.surprisingThresholdBits, 1)),
      vscode.commands.registerCommand('surprisalLens.previousSurprising', () => goToSurprising(this.store, this.settings.surprisingThresholdBits, -1)),
      vscode.commands.registerCommand('surprisalLens.chooseModelFolder', async () => {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model folder' });
        if (picked?.[0]) await setModelPath(picked[0].fsPath);
      }),
      vscode.commands.registerCommand('surprisalLens.useBundledModel', () => setModelPath('')),
      vscode.commands.registerCommand('surprisalLens.chooseModelVariant', () => this.chooseModelVariant()),
      vscode.commands.registerCommand('surprisalLens.compareWithModel', async () => {
        const picked = await pickComparisonModel(this.context.extensionPath, join(this.context.globalStorageUri.fsPath, 'hub'), this.model.modelPath);
        if (picked) await this.compareWith(picked);
      }),
      vscode.commands.registerCommand('surprisalLens.stopComparing', () => this.comparison.stop()),
    ];
  }

  /** Starts comparing with a second model; the heatmap turns on to show the difference. */
  private async compareWith(modelPath: string): Promise<boolean> {
    const started = await this.comparison.start(modelPath);
    if (started && !this.heatmap.isEnabled) {
      await this.heatmap.setEnabled(true);
      this.status.render();
      NextWordPanel.current?.refresh();
    }
    // The visible documents are now kept scored, by both models.
    if (started) this.scoreVisible();
    return started;
  }

  /** A pick of the model folder's ONNX files (fp32, fp16, q8, q4...), with their sizes. */
  private async chooseModelVariant(): Promise<void> {
    if (this.model.isRemote) return void vscode.window.showInformationMessage('Surprisal Lens: the model is scored on a server (surprisalLens.remote.url); it has no variants to choose here.');
    let variants: ModelVariant[];
    try {
      variants = listModelVariants(this.model.modelPath);
    } catch (error) {
      return void vscode.window.showErrorMessage(`Surprisal Lens: ${(error as Error).message}`);
    }
    const state = this.model.state;
    const inUse = state.kind === 'ready' ? state.info.variant?.name : undefined;
    const automatic = { label: 'Automatic', description: 'fp32 when the folder has it, else its most faithful variant', value: '' };
    const items = [automatic, ...variants.map((v) => ({
      label: v.name,
      description: `${(v.bytes / 1e6).toFixed(1)} MB \u00B7 ${v.files.join(', ')}`,
      detail: v.name === inUse ? 'In use' : undefined,
      value: v.name,
    }))];
    const picked = await vscode.window.showQuickPick(items, { title: `Model variant of ${this.model.displayName(true) || this.model.modelPath}`, placeHolder: 'Smaller variants load faster and use less memory; fp32 is the reference' });
    if (picked) await vscode.workspace.getConfiguration(SECTION).update('modelVariant', picked.value, vscode.ConfigurationTarget.Global);
  }

  private async scoreActiveDocument(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return void vscode.window.showInformationMessage('Surprisal Lens: open a text document to score it.');
    try {
      const entry = await this.scoreWithProgress(editor.document);
      const s = entry.scores.summary;
      void vscode.window.showInformationMessage(
        `Surprisal Lens: ${s.scoredTokens} tokens scored, perplexity ${s.perplexity.toFixed(2)}, mean surprisal ${s.meanSurprisal.toFixed(2)} bits, ${s.bitsPerByte.toFixed(3)} bits/byte.`,
      );
    } catch (error) {
      if (!(error instanceof CancelledError)) void vscode.window.showErrorMessage(`Surprisal Lens: ${(error as Error).message}`);
    }
  }

  /** Edits, visibility and new scores: what keeps the heatmap and diagnostics current. */
  private followDocuments(): vscode.Disposable[] {
    const refreshEditorsOf = (uri: vscode.Uri) => {
      for (const editor of vscode.window.visibleTextEditors) {
        if (editor.document.uri.toString() === uri.toString()) this.heatmap.refresh(editor);
      }
    };
    return [
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length > 0 && this.keepsScored(event.document)) {
          this.store.schedule(event.document);
          this.comparison.schedule(event.document);
        }
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        this.store.forget(document.uri);
        this.comparison.forget(document.uri);
        this.diagnostics.delete(document.uri);
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.scoreVisible()),
      vscode.window.onDidChangeTextEditorVisibleRanges((event) => this.heatmap.refresh(event.textEditor)),
      this.store.onDidScorePartially((entry) => refreshEditorsOf(entry.uri)),
      this.comparison.onDidUpdate((entry) => refreshEditorsOf(entry.uri)),
      this.comparison.onDidChange(() => {
        const comparison = this.comparison;
        this.heatmap.setDifferenceSource(comparison.isComparing ? (document) => comparison.comparisonFor(document) : undefined);
        // "Stop Comparing" is offered in the Command Palette only while comparing.
        void vscode.commands.executeCommand('setContext', 'surprisalLens.comparing', comparison.isComparing);
        this.scoreVisible();
        NextWordPanel.current?.refresh();
      }),
      this.store.onDidUpdate((entry) => {
        refreshEditorsOf(entry.uri);
        const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === entry.uri.toString());
        if (document && this.settings.diagnosticsEnabled) {
          this.diagnostics.set(document.uri, surprisalDiagnostics(document, entry.scores, this.settings.surprisingThresholdBits));
        }
      }),
    ];
  }

  /** Failures and model state changes, told to the user once each. */
  private reportProblems(): vscode.Disposable[] {
    return [
      this.store.onDidFail(({ error }) => {
        if (error instanceof DocumentTooLargeError || this.model.state.kind !== 'error') this.notifyOnce(error.message);
      }),
      this.model.onDidChangeState((state) => {
        if (state.kind === 'error') this.notifyOnce(`cannot load the model: ${state.message}`, ['Open Settings', 'Use Bundled Model']);
        if (state.kind === 'ready') this.shownErrors.clear();
        if (state.kind === 'ready' && state.kept) this.notifyOnce(`cannot load the model the settings name, so ${this.model.displayName() || 'the previous model'} stays in use: ${state.kept}`, ['Open Settings']);
      }),
      this.model.onDidRecoverFromCrash((reason) => {
        // A worker is restarted; a server that answers again says so itself.
        this.notifyOnce(this.model.isRemote ? reason : `${reason}. It was restarted.`);
        this.store.clear();
        this.scoreVisible();
      }),
    ];
  }

  /** Loads the model again from its files (they changed on disk), dropping every score. */
  reloadModel(): void {
    this.model.update(this.settings, true);
    this.store.updateSettings(this.settings, true);
    this.shownErrors.clear();
    this.scoreVisible();
    NextWordPanel.current?.refresh();
    this.status.render();
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) return;
    this.settings = readSettings();
    const reload = affects(event, MODEL_KEYS);
    this.model.update(this.settings, reload);
    this.store.updateSettings(this.settings, reload || affects(event, SCORING_KEYS));
    this.comparison.updateSettings(this.settings, affects(event, MODEL_KEYS) || affects(event, SCORING_KEYS));
    this.heatmap.updateSettings(this.settings);
    if (!this.settings.diagnosticsEnabled) this.diagnostics.clear();
    if (reload) this.shownErrors.clear();
    this.scoreVisible();
    NextWordPanel.current?.refresh();
    this.status.render();
  }

  private notifyOnce(message: string, actions: string[] = []): void {
    if (this.shownErrors.has(message)) return;
    this.shownErrors.add(message);
    void vscode.window.showWarningMessage(`Surprisal Lens: ${message}`, ...actions).then((choice) => {
      if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.modelPath`);
      if (choice === 'Use Bundled Model') void vscode.workspace.getConfiguration(SECTION).update('modelPath', '', vscode.ConfigurationTarget.Global);
    });
  }

  private scoreWithProgress(document: vscode.TextDocument): Promise<ScoreEntry> {
    if (document.getText().length < PROGRESS_NOTIFICATION_CHARS) return this.store.scoreNow(document);
    return Promise.resolve(vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Scoring ${vscode.workspace.asRelativePath(document.uri)}`, cancellable: true },
      async (progress, token) => {
        let reported = 0;
        const listener = this.store.onDidProgress(({ uri, scored, total }) => {
          if (uri.toString() !== document.uri.toString()) return;
          const percent = (100 * scored) / Math.max(1, total);
          progress.report({ increment: percent - reported, message: `${scored.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} tokens` });
          reported = percent;
        });
        try {
          return await this.store.scoreNow(document, token);
        } finally {
          listener.dispose();
        }
      },
    ));
  }

  /** Scores the visible documents that must stay scored and have no current scores; redraws the rest. */
  private scoreVisible(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (this.keepsScored(editor.document)) this.comparison.ensureScored(editor.document);
      if (this.keepsScored(editor.document) && !this.store.current(editor.document)) this.scoreWithProgress(editor.document).catch(() => undefined);
      else this.heatmap.refresh(editor);
    }
  }

  api(): SurprisalLensApi {
    const { store, heatmap, model } = this;
    return {
      scoreDocument: async (uri) => {
        const document = await vscode.workspace.openTextDocument(uri);
        const entry = await store.scoreNow(document);
        return { version: entry.version, tokenCount: entry.scores.tokenCount, summary: entry.scores.summary };
      },
      isHeatmapEnabled: () => heatmap.isEnabled,
      heatmapRangeCount: (editor) => heatmap.rangeCount(editor),
      whenIdle: (uri) => store.whenIdle(uri),
      lastScoredVersion: (uri) => store.latest(uri)?.version,
      killWorker: () => model.killWorker(),
      nextWordPanelSnapshot: () => NextWordPanel.current?.snapshot,
      insertNextWord: (index) => NextWordPanel.current?.insert(index) ?? Promise.resolve(false),
      generateNextWords: (count, rule) => NextWordPanel.current?.generate(count, rule) ?? Promise.resolve(undefined),
      undoGenerationStep: () => NextWordPanel.current?.undoStep() ?? Promise.resolve(false),
      compareWithModel: (modelPath) => this.compareWith(modelPath),
      stopComparing: () => this.comparison.stop(),
      heatmapMode: () => heatmap.drawMode,
      comparedWords: (uri) => {
        const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
        const compared = document && this.comparison.comparisonFor(document);
        const second = document && this.comparison.secondEntry(document);
        if (!compared || !second) return undefined;
        return { count: compared.count, bitsA: Array.from(compared.bitsA), bitsB: Array.from(compared.bitsB), difference: Array.from(compared.difference), secondBitsPerByte: second.scores.summary.bitsPerByte };
      },
      modelState: () => {
        const state = model.state;
        if (state.kind === 'error') return { kind: state.kind, message: state.message };
        if (state.kind === 'ready') return { kind: state.kind, name: state.info.name, ...(state.info.variant ? { variant: state.info.variant.name } : {}), ...(state.kept ? { kept: state.kept } : {}) };
        return { kind: state.kind };
      },
    };
  }
}

export async function deactivate(): Promise<void> {
  // The rest is disposed through context.subscriptions; the worker is asked to stop first,
  // so no ONNX run is cut off in the middle.
  await activeModel?.shutdown();
  activeModel = undefined;
}
