/**
 * The "Next-Word Distribution" webview panel: the most likely next words at the cursor of
 * the followed editor, and a view of the whole document's scores.
 *
 * Public API (everything else is private):
 * - `NextWordPanel.show(context, editor?, offset?)`: creates the panel beside the editor (or
 *   reveals the one that exists, keeping the focus in the editor) and follows `editor` (else
 *   the active editor). With `offset`, the editor's cursor is first moved there (the hover's
 *   "open the panel at this token" link). Returns the panel.
 * - `NextWordPanel.current`: the open panel, or undefined.
 * - `NextWordPanel.isFollowing(document)`: whether the open panel follows that document (so it
 *   wants the document's scores).
 * - `panel.refresh()`: asks again for the cursor's next words and re-sends the document view
 *   (e.g. after the model or settings changed).
 * - `panel.snapshot`: what the panel shows now (for tests): the followed document and cursor,
 *   the mode and the listed candidates.
 * - `panel.insert(index)`: inserts the candidate at `index` of the list shown, exactly as a
 *   click in the webview does.
 * - `panel.generate(count, rule)`, `panel.undoStep()`, `panel.stopGenerating()`: generation at
 *   the followed editor's cursor, exactly as the panel's Step / Generate / Undo step / Stop
 *   buttons (see generation.ts); `panel.snapshot.generation` is its history.
 * - `panel.dispose()`: closes the panel.
 *
 * Every message from the webview is validated (`parseFromPanel`), and an insert must name
 * the list the host last sent and one of its candidates, for the document version and cursor
 * that list was computed for.
 */
import * as vscode from 'vscode';
import { documentFigures } from '../core/documentFigures';
import type { GenerationRule } from '../core/generation';
import { CancelledError } from '../core/types';
import {
  parseFromPanel,
  type ExportFormat,
  type FromPanel,
  type LegendMessage,
  type PanelCandidate,
  type PanelMode,
  type ToPanel,
  type WordsMessage,
} from '../shared/panelProtocol';
import { CANDIDATES_PER_STEP, GenerationController, type GenerationSnapshot } from './generation';
import type { ModelService } from './modelService';
import type { ScoreEntry, ScoreStore } from './scoreStore';
import { nextWordPanelHtml } from './nextWordPanelHtml';
import type { Settings } from './settings';
import { exportTokens } from './tokenExport';

export interface NextWordPanelContext {
  readonly extensionUri: vscode.Uri;
  readonly model: ModelService;
  readonly store: ScoreStore;
  /** The extension's current settings (one reader of the configuration, in extension.ts). */
  readonly settings: () => Settings;
  /** The heatmap's key for a document of this language. */
  readonly legend: (languageId: string) => LegendMessage;
}

/** What the panel shows, for tests and for the extension's API. */
export interface NextWordPanelSnapshot {
  readonly uri: string | undefined;
  readonly version: number | undefined;
  readonly offset: number | undefined;
  readonly mode: PanelMode;
  readonly candidates: readonly PanelCandidate[];
  readonly entropyBits: number | undefined;
  readonly contextTail: string | undefined;
  /** The heatmap key shown at the top. */
  readonly legend: LegendMessage | undefined;
  /** The generation history and whether a run is going on. */
  readonly generation: GenerationSnapshot;
}

const DEBOUNCE_MS = 150;
/** Characters of text before the cursor sent to the worker (the model sees at most a window of it). */
const MAX_CONTEXT_CHARS = 8000;
// The generation rules draw from exactly the list the panel shows.
const MAX_WORDS = CANDIDATES_PER_STEP;
const FOLLOWED_SCHEMES = new Set(['file', 'untitled', 'vscode-remote', 'vscode-vfs', 'vscode-notebook-cell']);

interface ShownList {
  readonly requestId: number;
  readonly uri: string;
  readonly version: number;
  readonly offset: number;
  readonly message: WordsMessage;
}

export class NextWordPanel implements vscode.Disposable {
  static readonly viewType = 'surprisalLens.nextWords';
  static readonly title = 'Next-Word Distribution';
  private static instance: NextWordPanel | undefined;

  /** The open panel, if any. */
  static get current(): NextWordPanel | undefined {
    return NextWordPanel.instance;
  }

  /** Opens (or reveals) the panel and follows `editor`, or the active editor. */
  static show(context: NextWordPanelContext, editor?: vscode.TextEditor, offset?: number): NextWordPanel {
    const target = editor ?? vscode.window.activeTextEditor;
    if (target && offset !== undefined && Number.isInteger(offset) && offset >= 0 && offset <= target.document.getText().length) {
      const position = target.document.positionAt(offset);
      target.selection = new vscode.Selection(position, position);
      target.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    let panel = NextWordPanel.instance;
    if (panel) {
      panel.panel.reveal(undefined, true);
    } else {
      const webviewPanel = vscode.window.createWebviewPanel(
        NextWordPanel.viewType,
        NextWordPanel.title,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        {
          enableScripts: true,
          localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')],
        },
      );
      panel = new NextWordPanel(webviewPanel, context);
      NextWordPanel.instance = panel;
    }
    if (target) panel.follow(target);
    panel.refresh();
    return panel;
  }

  /** Whether the open panel follows this document. */
  static isFollowing(document: vscode.TextDocument): boolean {
    return NextWordPanel.instance?.editor?.document.uri.toString() === document.uri.toString();
  }

  private readonly disposables: vscode.Disposable[] = [];
  private editor: vscode.TextEditor | undefined;
  private mode: PanelMode = 'words';
  private timer: NodeJS.Timeout | undefined;
  private request: vscode.CancellationTokenSource | undefined;
  private nextRequestId = 1;
  private shown: ShownList | undefined;
  /** The last messages of each kind, re-sent when the webview is (re)loaded. */
  private lastStatus: ToPanel | undefined;
  private lastDocument: ToPanel | undefined;
  private lastLegend: LegendMessage | undefined;
  private disposed = false;
  private lastIdleRefresh = 0;
  private readonly generation: GenerationController;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly context: NextWordPanelContext,
  ) {
    panel.webview.html = nextWordPanelHtml(panel.webview, context.extensionUri, NextWordPanel.title);
    this.generation = new GenerationController(context.model, () => this.mode, (message) => this.post(message));
    this.disposables.push(
      this.generation,
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseFromPanel(raw);
        if (message) void this.onMessage(message);
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor && FOLLOWED_SCHEMES.has(editor.document.uri.scheme)) {
          if (this.follow(editor)) {
            this.updateDocumentView(editor.document);
            this.postLegend();
          }
          this.schedule();
        }
      }),
      vscode.window.onDidChangeTextEditorSelection((event) => {
        if (!this.isFollowed(event.textEditor.document)) return;
        this.editor = event.textEditor;
        this.schedule();
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length > 0 && this.isFollowed(event.document)) this.schedule();
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (!this.isFollowed(document)) return;
        this.editor = undefined;
        this.cancelRequest();
        this.shown = undefined;
        this.post({ type: 'status', state: 'noEditor', message: 'Open a text editor: the panel follows its cursor.' });
        this.postDocument({ type: 'noDocument', reason: 'No document is followed.' });
      }),
      context.store.onDidUpdate((entry) => {
        const document = this.editor?.document;
        if (document && entry.uri.toString() === document.uri.toString() && entry.version === document.version) this.sendDocumentView(document, entry);
      }),
      context.store.onDidFail(({ uri, error }) => {
        if (this.editor && uri.toString() === this.editor.document.uri.toString()) this.postDocument({ type: 'noDocument', reason: error.message });
      }),
      context.model.onDidChangeState((state) => {
        if (state.kind === 'loading') {
          this.post({ type: 'status', state: 'loading', message: 'Loading the model…' });
        } else if (state.kind === 'error') {
          this.post({ type: 'status', state: 'error', message: `The model cannot be loaded: ${state.message}` });
        } else if (state.kind === 'idle') {
          // The model is being replaced (settings changed) or the worker restarted: the list
          // shown came from the old one. At most one automatic retry per 10 s, so a worker
          // that keeps dying is not restarted in a loop (moving the cursor still retries).
          this.shown = undefined;
          if (Date.now() - this.lastIdleRefresh > 10_000) {
            this.lastIdleRefresh = Date.now();
            this.schedule();
          }
        } else if (!this.shown && !this.request) {
          this.schedule();
        }
      }),
    );
  }

  /** Asks again for the next words at the cursor and re-sends the document view. */
  refresh(): void {
    if (this.disposed) return;
    this.schedule(0);
    const document = this.editor?.document;
    if (document) this.updateDocumentView(document);
    this.postLegend();
  }

  /** The heatmap's key for the followed document (or prose when none), at the top of the panel. */
  private postLegend(): void {
    this.lastLegend = this.context.legend(this.editor?.document.languageId ?? 'plaintext');
    this.post(this.lastLegend);
  }

  /** What the panel shows now. */
  get snapshot(): NextWordPanelSnapshot {
    const shown = this.shown;
    return {
      uri: this.editor?.document.uri.toString(),
      version: shown?.version,
      offset: shown?.offset,
      mode: this.mode,
      candidates: shown?.message.candidates ?? [],
      entropyBits: shown?.message.entropyBits,
      contextTail: shown?.message.contextTail,
      legend: this.lastLegend,
      generation: this.generation.snapshot,
    };
  }

  /** Appends `count` words at the followed editor's cursor, each picked by `rule`; resolves when the run ends. */
  async generate(count: number, rule: GenerationRule): Promise<GenerationSnapshot> {
    const editor = this.editor && this.editorFor(this.editor.document);
    if (!editor) return this.generation.snapshot;
    await this.generation.generate(editor, count, rule);
    return this.generation.snapshot;
  }

  /** Removes the last generated step (one edit). */
  undoStep(): Promise<boolean> {
    return this.generation.undo();
  }

  stopGenerating(): void {
    this.generation.stop();
  }

  /** Inserts the candidate at `index` of the shown list at the cursor, as one undo step. */
  async insert(index: number): Promise<boolean> {
    const shown = this.shown;
    const candidate = shown?.message.candidates[index];
    if (!shown || !candidate) return false;
    return this.insertCandidate(shown, index, candidate.completion);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (NextWordPanel.instance === this) NextWordPanel.instance = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.cancelRequest();
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  // ---- following the cursor ----

  private isFollowed(document: vscode.TextDocument): boolean {
    return this.editor !== undefined && this.editor.document.uri.toString() === document.uri.toString();
  }

  /** Follows `editor`; true when that is a different document than before. */
  private follow(editor: vscode.TextEditor): boolean {
    const changed = !this.editor || this.editor.document.uri.toString() !== editor.document.uri.toString();
    this.editor = editor;
    return changed;
  }

  private schedule(delay = DEBOUNCE_MS): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.requestWords();
    }, delay);
  }

  private cancelRequest(): void {
    this.request?.cancel();
    this.request?.dispose();
    this.request = undefined;
  }

  private async requestWords(): Promise<void> {
    this.cancelRequest();
    const editor = this.editor;
    if (!editor || editor.document.isClosed) {
      this.post({ type: 'status', state: 'noEditor', message: 'Open a text editor: the panel follows its cursor.' });
      return;
    }
    const document = editor.document;
    const version = document.version;
    const offset = document.offsetAt(editor.selection.active);
    let from = Math.max(0, offset - MAX_CONTEXT_CHARS);
    const text = document.getText();
    // Never start between the halves of a surrogate pair.
    if (from > 0 && /[\udc00-\udfff]/.test(text.charAt(from))) from++;
    const context = text.slice(from, offset);
    const mode = this.mode;
    const source = new vscode.CancellationTokenSource();
    this.request = source;
    const requestId = this.nextRequestId++;
    const started = Date.now();
    try {
      this.post({ type: 'status', state: this.context.model.state.kind === 'ready' ? 'working' : 'loading', message: this.context.model.state.kind === 'ready' ? 'Predicting…' : 'Loading the model…' });
      // Right after a generated word the list is what the next step draws from: the words after it.
      const afterWord = this.generation.followsStep(document.uri.toString(), version, offset);
      const result = await this.context.model.nextWords(context, { maxWords: MAX_WORDS, rawTokens: mode === 'tokens', afterWord }, source.token);
      if (source.token.isCancellationRequested || this.disposed || document.version !== version || this.editor?.document !== document) return;
      const position = document.positionAt(offset);
      const message: WordsMessage = {
        type: 'words',
        requestId,
        mode: result.mode,
        candidates: result.words.map((w) => ({ text: w.text, completion: w.completion, prob: w.prob })),
        entropyBits: result.entropyBits,
        contextTail: result.contextTail,
        partial: result.partial,
        midWord: result.midWord,
        endsHereProb: result.endsHereProb,
        exact: result.exact,
        truncated: result.truncated,
        fileName: vscode.workspace.asRelativePath(document.uri, false),
        line: position.line,
        character: position.character,
        elapsedMs: Date.now() - started,
      };
      this.shown = { requestId, uri: document.uri.toString(), version, offset, message };
      this.post(message);
      this.post({ type: 'status', state: 'ready', message: '' });
    } catch (error) {
      if (error instanceof CancelledError) return;
      if (source.token.isCancellationRequested) return;
      this.post({ type: 'status', state: 'error', message: (error as Error).message });
    } finally {
      if (this.request === source) this.request = undefined;
      source.dispose();
    }
  }

  // ---- the document view ----

  private updateDocumentView(document: vscode.TextDocument): void {
    const { store } = this.context;
    const entry = store.current(document);
    if (entry) {
      this.sendDocumentView(document, entry);
      return;
    }
    if (!store.isEligible(document)) {
      this.postDocument({ type: 'noDocument', reason: 'This document is not scored (see the settings surprisalLens.enabledLanguages and excludedLanguages).' });
      return;
    }
    this.postDocument({ type: 'noDocument', reason: 'Scoring the document…' });
    store.scoreNow(document).catch((error: unknown) => {
      if (error instanceof CancelledError) return;
      if (this.isFollowed(document)) this.postDocument({ type: 'noDocument', reason: (error as Error).message });
    });
  }

  private sendDocumentView(document: vscode.TextDocument, entry: ScoreEntry): void {
    const { rankThresholds, maxSurprisalBits } = this.context.settings();
    const figures = documentFigures(entry.scores, rankThresholds, maxSurprisalBits);
    this.postDocument({
      type: 'document',
      fileName: vscode.workspace.asRelativePath(document.uri, false),
      version: entry.version,
      modelName: this.context.model.displayName(),
      tokenCount: entry.scores.tokenCount,
      summary: entry.scores.summary,
      ...figures,
    });
  }

  // ---- messages from the webview ----

  private async onMessage(message: FromPanel): Promise<void> {
    switch (message.type) {
      case 'ready':
        if (message.mode !== this.mode) {
          this.mode = message.mode;
          this.shown = undefined;
          this.schedule(0);
        } else if (this.shown) {
          this.post(this.shown.message);
        }
        if (this.lastStatus) this.post(this.lastStatus);
        if (this.lastDocument) this.post(this.lastDocument);
        if (this.lastLegend) this.post(this.lastLegend);
        this.generation.publish();
        return;
      case 'setMode':
        if (message.mode === this.mode) return;
        this.mode = message.mode;
        this.schedule(0);
        return;
      case 'refresh':
        this.refresh();
        return;
      case 'insert': {
        const shown = this.shown;
        // Only a candidate of the list last sent, exactly as sent.
        if (!shown || message.requestId !== shown.requestId) return;
        const candidate = shown.message.candidates[message.index];
        if (!candidate || candidate.completion === '' || candidate.completion !== message.text) return;
        await this.insertCandidate(shown, message.index, message.text);
        return;
      }
      case 'reveal':
        await this.reveal(message.tokenIndex);
        return;
      case 'export':
        await this.export(message.format);
        return;
      case 'generate':
        await this.generate(message.count, message.rule);
        return;
      case 'stopGeneration':
        this.generation.stop();
        return;
      case 'undoStep':
        await this.generation.undo();
        return;
      case 'clearHistory':
        this.generation.clear();
        return;
    }
  }

  private async insertCandidate(shown: ShownList, index: number, text: string): Promise<boolean> {
    if (text === '' || shown.message.candidates[index]?.completion !== text) return false;
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === shown.uri);
    if (!document || document.version !== shown.version) {
      this.schedule(0);
      return false;
    }
    const editor = this.editorFor(document);
    if (!editor || document.offsetAt(editor.selection.active) !== shown.offset) {
      // The cursor moved since the list was computed: show the list for where it is now.
      this.schedule(0);
      return false;
    }
    const eol = document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
    const inserted = text.replace(/\r\n|\r|\n/g, eol);
    const position = document.positionAt(shown.offset);
    // One edit, with undo stops on both sides: a single undo step.
    const applied = await editor.edit((builder) => builder.insert(position, inserted), { undoStopBefore: true, undoStopAfter: true });
    if (!applied) return false;
    const end = document.positionAt(shown.offset + inserted.length);
    editor.selection = new vscode.Selection(end, end);
    this.shown = undefined;
    this.schedule(0);
    return true;
  }

  /** The visible editor showing the document, the followed one first. */
  private editorFor(document: vscode.TextDocument): vscode.TextEditor | undefined {
    if (this.editor?.document === document && vscode.window.visibleTextEditors.includes(this.editor)) return this.editor;
    return vscode.window.visibleTextEditors.find((e) => e.document === document);
  }

  private async reveal(tokenIndex: number): Promise<void> {
    const document = this.editor?.document;
    if (!document) return;
    const entry = this.context.store.current(document);
    if (!entry) {
      this.post({ type: 'status', state: 'working', message: 'The document changed since it was scored; the view updates when the new scores are ready.' });
      return;
    }
    if (tokenIndex >= entry.scores.tokenCount) return;
    const range = new vscode.Range(document.positionAt(entry.scores.starts[tokenIndex]!), document.positionAt(entry.scores.ends[tokenIndex]!));
    const shown = await vscode.window.showTextDocument(document, { viewColumn: this.editor?.viewColumn, selection: range, preserveFocus: false });
    shown.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private async export(format: ExportFormat): Promise<void> {
    const document = this.editor?.document;
    if (!document) return;
    const entry = this.context.store.current(document);
    if (!entry) {
      void vscode.window.showInformationMessage('Surprisal Lens: the document is still being scored; export again when the panel shows its figures.');
      return;
    }
    await exportTokens(document, entry, this.context.model, format);
  }

  // ---- posting ----

  private post(message: ToPanel): void {
    if (this.disposed) return;
    if (message.type === 'status') this.lastStatus = message;
    void this.panel.webview.postMessage(message);
  }

  private postDocument(message: ToPanel): void {
    this.lastDocument = message;
    this.post(message);
  }
}
