/**
 * Entry point: wires the features together. Activation is cheap (no model, no worker); the
 * model loads in the inference worker the first time something needs scores.
 */
import * as vscode from 'vscode';
import { WorkerRequestError } from '../core/workerClient';
import { Heatmap } from './heatmap';
import { SHOW_PANEL_COMMAND, SurprisalHoverProvider } from './hover';
import { ModelService } from './modelService';
import { goToSurprising, surprisalDiagnostics } from './navigation';
import { NextWordPanel } from './nextWordPanel';
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
  /** The longest single heatmap decoration step so far, in ms (what it blocked the host for). */
  heatmapLongestStepMs(): number;
  /** The model's state: idle, loading, ready, or error with the reason. */
  modelState(): { kind: string; message?: string; name?: string };
}

/** Kept so `deactivate` can wait for the worker to stop cleanly. */
let activeModel: ModelService | undefined;

export function activate(context: vscode.ExtensionContext): SurprisalLensApi {
  let settings = readSettings();
  const model = new ModelService(context.extensionPath, settings);
  activeModel = model;
  const store = new ScoreStore(model, settings);
  const heatmap = new Heatmap(store, settings, context.workspaceState);
  const status = new StatusBar(model, store, () => heatmap.isEnabled);
  const diagnostics = vscode.languages.createDiagnosticCollection('surprisalLens');
  const shownErrors = new Set<string>();
  context.subscriptions.push(model, store, heatmap, status, diagnostics, { dispose: () => NextWordPanel.current?.dispose() });

  /** Tells the user about a problem once, not on every keystroke. */
  const notifyOnce = (message: string, actions: string[] = []) => {
    if (shownErrors.has(message)) return;
    shownErrors.add(message);
    void vscode.window.showWarningMessage(`Surprisal Lens: ${message}`, ...actions).then((choice) => {
      if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.modelPath`);
      if (choice === 'Use Bundled Model') void vscode.workspace.getConfiguration(SECTION).update('modelPath', '', vscode.ConfigurationTarget.Global);
    });
  };

  const wantsScores = (document: vscode.TextDocument) =>
    store.isEligible(document) && (heatmap.isEnabled || store.latest(document.uri) !== undefined || NextWordPanel.isFollowing(document));

  const scoreWithProgress = (document: vscode.TextDocument): Promise<ScoreEntry> => {
    if (document.getText().length < PROGRESS_NOTIFICATION_CHARS) return store.scoreNow(document);
    return Promise.resolve(vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Scoring ${vscode.workspace.asRelativePath(document.uri)}`, cancellable: true },
      async (progress, token) => {
        let reported = 0;
        const listener = store.onDidProgress(({ uri, scored, total }) => {
          if (uri.toString() !== document.uri.toString()) return;
          const percent = (100 * scored) / Math.max(1, total);
          progress.report({ increment: percent - reported, message: `${scored.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} tokens` });
          reported = percent;
        });
        try {
          return await store.scoreNow(document, token);
        } finally {
          listener.dispose();
        }
      },
    ));
  };

  const scoreVisible = () => {
    for (const editor of vscode.window.visibleTextEditors) {
      if (wantsScores(editor.document) && !store.current(editor.document)) scoreWithProgress(editor.document).catch(() => undefined);
      else heatmap.refresh(editor);
    }
  };

  context.subscriptions.push(
    vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }], new SurprisalHoverProvider(store, model, () => heatmap.activeScheme())),

    vscode.commands.registerCommand('surprisalLens.scoreDocument', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) return void vscode.window.showInformationMessage('Surprisal Lens: open a text document to score it.');
      try {
        const entry = await scoreWithProgress(editor.document);
        const s = entry.scores.summary;
        void vscode.window.showInformationMessage(
          `Surprisal Lens: ${s.scoredTokens} tokens scored, perplexity ${s.perplexity.toFixed(2)}, mean surprisal ${s.meanSurprisal.toFixed(2)} bits, ${s.bitsPerByte.toFixed(3)} bits/byte.`,
        );
      } catch (error) {
        if (!(error instanceof WorkerRequestError && error.cancelled)) void vscode.window.showErrorMessage(`Surprisal Lens: ${(error as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('surprisalLens.toggleHeatmap', async () => {
      await heatmap.setEnabled(!heatmap.isEnabled);
      status.render();
      if (heatmap.isEnabled) scoreVisible();
    }),
    vscode.commands.registerCommand(SHOW_PANEL_COMMAND, (target?: { uri?: string; offset?: number }) => {
      // Arguments come from our own hover link; anything else is ignored.
      const editor = vscode.window.visibleTextEditors.find((e) => typeof target?.uri === 'string' && e.document.uri.toString() === target.uri) ?? vscode.window.activeTextEditor;
      const offset = typeof target?.offset === 'number' && Number.isInteger(target.offset) ? target.offset : undefined;
      NextWordPanel.show({ extensionUri: context.extensionUri, model, store }, editor, offset);
    }),
    vscode.commands.registerCommand('surprisalLens.nextSurprising', () => goToSurprising(store, settings.surprisingThresholdBits, 1)),
    vscode.commands.registerCommand('surprisalLens.previousSurprising', () => goToSurprising(store, settings.surprisingThresholdBits, -1)),
    vscode.commands.registerCommand('surprisalLens.chooseModelFolder', async () => {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model folder' });
      if (picked?.[0]) await vscode.workspace.getConfiguration(SECTION).update('modelPath', picked[0].fsPath, vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand('surprisalLens.useBundledModel', () =>
      vscode.workspace.getConfiguration(SECTION).update('modelPath', '', vscode.ConfigurationTarget.Global)),

    vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.contentChanges.length === 0 || !wantsScores(event.document)) return;
      store.schedule(event.document);
    }),
    vscode.workspace.onDidCloseTextDocument((document) => {
      store.forget(document.uri);
      diagnostics.delete(document.uri);
    }),
    vscode.window.onDidChangeVisibleTextEditors(() => scoreVisible()),
    vscode.window.onDidChangeTextEditorVisibleRanges((event) => heatmap.refresh(event.textEditor)),
    store.onDidScorePartially((entry) => {
      for (const editor of vscode.window.visibleTextEditors) {
        if (editor.document.uri.toString() === entry.uri.toString()) heatmap.refresh(editor);
      }
    }),
    store.onDidUpdate((entry) => {
      for (const editor of vscode.window.visibleTextEditors) {
        if (editor.document.uri.toString() === entry.uri.toString()) heatmap.refresh(editor);
      }
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === entry.uri.toString());
      if (document && settings.diagnosticsEnabled) diagnostics.set(document.uri, surprisalDiagnostics(document, entry.scores, settings.surprisingThresholdBits));
    }),
    store.onDidFail(({ error }) => {
      if (error instanceof DocumentTooLargeError) notifyOnce(error.message);
      else if (model.state.kind !== 'error') notifyOnce(error.message);
    }),
    model.onDidChangeState((state) => {
      if (state.kind === 'error') notifyOnce(`cannot load the model: ${state.message}`, ['Open Settings', 'Use Bundled Model']);
      if (state.kind === 'ready') shownErrors.clear();
    }),
    model.onDidRecoverFromCrash((reason) => {
      notifyOnce(`${reason}. It was restarted.`);
      store.clear();
      scoreVisible();
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration(SECTION)) return;
      settings = readSettings();
      const reload = affects(event, MODEL_KEYS);
      model.update(settings, reload);
      store.updateSettings(settings, reload || affects(event, SCORING_KEYS));
      heatmap.updateSettings(settings);
      if (!settings.diagnosticsEnabled) diagnostics.clear();
      if (reload) shownErrors.clear();
      scoreVisible();
      NextWordPanel.current?.refresh();
      status.render();
    }),
  );

  if (heatmap.isEnabled) scoreVisible();

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
    heatmapLongestStepMs: () => heatmap.longestStepMs,
    modelState: () => {
      const state = model.state;
      if (state.kind === 'error') return { kind: state.kind, message: state.message };
      if (state.kind === 'ready') return { kind: state.kind, name: state.info.name };
      return { kind: state.kind };
    },
  };
}

export async function deactivate(): Promise<void> {
  // The rest is disposed through context.subscriptions; the worker is asked to stop first,
  // so no ONNX run is cut off in the middle.
  await activeModel?.shutdown();
  activeModel = undefined;
}
