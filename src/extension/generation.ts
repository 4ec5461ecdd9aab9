/**
 * Generation from the Next-Word panel: "Step" appends one word (or token) picked by a rule
 * (core/generation.ts) from the distribution `ModelService.nextWords` gives at the cursor,
 * "Generate N" repeats it word by word, "Undo step" removes the last one. It goes through
 * the `ScoringBackend` seam like everything else, so it works with whichever backend scores.
 *
 * Each step is one editor edit with undo stops on both sides (one Ctrl+Z removes it). An
 * edit of the document that is not a step (typing) stops a run at once, as do Stop,
 * closing the document and disposing; a step whose distribution was computed for an older
 * version of the document is never applied.
 */
import * as vscode from 'vscode';
import { chooseCandidate, type GenerationRule } from '../core/generation';
import { CancelledError, type NextWordDistribution } from '../core/types';
import type { GenerationDraw, GenerationMessage, GenerationStepRow, PanelMode } from '../shared/panelProtocol';
import type { ModelService } from './modelService';

/** Characters of text before the cursor sent with each step (the model sees at most a window of it). */
const MAX_CONTEXT_CHARS = 8000;
/** Candidates listed per step, as many as the panel lists: the rules choose among what it shows. */
export const CANDIDATES_PER_STEP = 15;

interface StepRecord {
  readonly row: GenerationStepRow;
  readonly uri: string;
  /** Where the step's text lies (UTF-16 offsets) right after it was inserted. */
  readonly start: number;
  readonly inserted: string;
  /** The document version the step's edit produced. */
  readonly version: number;
}

interface Run {
  readonly source: vscode.CancellationTokenSource;
  readonly uri: string;
  remaining: number;
}

/** What the generation history holds now, for tests and the extension's API. */
export interface GenerationSnapshot {
  readonly running: boolean;
  readonly steps: readonly GenerationStepRow[];
  readonly message: string;
}

export class GenerationController implements vscode.Disposable {
  private steps: StepRecord[] = [];
  private run: Run | undefined;
  private lastDraw: GenerationDraw | null = null;
  private message = '';
  /**
   * The step's own edit while it is applied, so its change event is not taken for typing; an
   * edit of the user's that lands meanwhile (both can be applied) still stops the run.
   */
  private applying: { readonly uri: string; readonly offset: number; readonly text: string } | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly model: ModelService,
    private readonly mode: () => PanelMode,
    private readonly post: (message: GenerationMessage) => void,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length === 0 || this.run?.uri !== event.document.uri.toString()) return;
        const own = this.applying;
        if (own?.uri === event.document.uri.toString() && event.contentChanges.every((c) => c.rangeOffset === own.offset && c.rangeLength === 0 && c.text === own.text)) return;
        this.stop('Stopped: the document was edited.');
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (this.run?.uri === document.uri.toString()) this.stop('Stopped: the document was closed.');
      }),
    );
  }

  get snapshot(): GenerationSnapshot {
    return { running: this.run !== undefined, steps: this.steps.map((s) => s.row), message: this.message };
  }

  get isRunning(): boolean {
    return this.run !== undefined;
  }

  /** Whether `offset` in that version of the document is right after the last step's text (the next word follows it). */
  followsStep(uri: string, version: number, offset: number): boolean {
    const last = this.steps[this.steps.length - 1];
    return last !== undefined && last.uri === uri && last.version === version && last.start + last.inserted.length === offset;
  }

  /**
   * Appends up to `count` words at the editor's cursor, one edit each; resolves when the run
   * ends (done, stopped, or failed: the reason is in `snapshot.message`).
   */
  async generate(editor: vscode.TextEditor, count: number, rule: GenerationRule): Promise<void> {
    if (this.run) return;
    const uri = editor.document.uri.toString();
    // A history belongs to one document.
    if (this.steps.length > 0 && this.steps[0]!.uri !== uri) this.steps = [];
    const run: Run = { source: new vscode.CancellationTokenSource(), uri, remaining: count };
    this.run = run;
    this.message = '';
    this.publish();
    try {
      while (run.remaining > 0 && !run.source.token.isCancellationRequested) {
        if (!(await this.step(editor, rule, run))) break;
        run.remaining--;
        this.publish();
      }
    } catch (error) {
      if (!(error instanceof CancelledError)) this.message = (error as Error).message;
    } finally {
      run.source.dispose();
      if (this.run === run) this.run = undefined;
      this.publish();
    }
  }

  /** Stops the run in progress, saying why. */
  stop(reason = 'Stopped.'): void {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    run.source.cancel();
    this.message = reason;
    this.publish();
  }

  /** Removes the last step's text, if it is still there unchanged; true when it did. */
  async undo(): Promise<boolean> {
    if (this.run) this.stop();
    const last = this.steps[this.steps.length - 1];
    if (!last) return false;
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === last.uri);
    const editor = document && vscode.window.visibleTextEditors.find((e) => e.document === document);
    if (!document || !editor) {
      this.message = 'Open the document of the last step to undo it.';
      this.publish();
      return false;
    }
    const range = new vscode.Range(document.positionAt(last.start), document.positionAt(last.start + last.inserted.length));
    if (document.getText(range) !== last.inserted) {
      // The text moved or changed since; removing by offset could delete the user's text.
      this.steps.pop();
      this.message = 'The last step\'s text was changed since; it was left as it is.';
      this.publish();
      return false;
    }
    const applied = await editor.edit((builder) => builder.delete(range), { undoStopBefore: true, undoStopAfter: true });
    if (!applied) return false;
    this.steps.pop();
    editor.selection = new vscode.Selection(range.start, range.start);
    this.lastDraw = null;
    this.message = '';
    this.publish();
    return true;
  }

  clear(): void {
    this.stop();
    this.steps = [];
    this.lastDraw = null;
    this.message = '';
    this.publish();
  }

  /** Re-sends the history (the webview was reloaded). */
  publish(): void {
    this.post({ type: 'generation', running: this.run !== undefined, remaining: this.run?.remaining ?? 0, steps: this.steps.map((s) => s.row), lastDraw: this.lastDraw, message: this.message });
  }

  dispose(): void {
    this.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** One step; false when the run must end (the reason is in `message`). */
  private async step(editor: vscode.TextEditor, rule: GenerationRule, run: Run): Promise<boolean> {
    const document = editor.document;
    if (document.isClosed) {
      this.message = 'Stopped: the document was closed.';
      return false;
    }
    const version = document.version;
    const offset = document.offsetAt(editor.selection.active);
    const text = document.getText();
    let from = Math.max(0, offset - MAX_CONTEXT_CHARS);
    if (from > 0 && /[\udc00-\udfff]/.test(text.charAt(from))) from++;
    // Right after a step's word, the next word follows it (rather than completing it).
    const afterWord = this.followsStep(run.uri, version, offset);
    const mode = this.mode();
    const result: NextWordDistribution = await this.model.nextWords(text.slice(from, offset), { maxWords: CANDIDATES_PER_STEP, rawTokens: mode === 'tokens', afterWord }, run.source.token);
    if (run.source.token.isCancellationRequested || this.run !== run) return false;
    if (document.version !== version || document.offsetAt(editor.selection.active) !== offset) {
      this.message = document.version !== version ? 'Stopped: the document was edited.' : 'Stopped: the cursor moved.';
      return false;
    }
    // Candidates that cannot be typed (special tokens, broken characters) are never drawn.
    const probs = result.words.map((w) => (w.completion === '' ? 0 : w.prob));
    const choice = chooseCandidate(probs, rule, this.steps.length);
    if (!choice) {
      this.message = 'Stopped: no candidate here can be inserted.';
      return false;
    }
    const word = result.words[choice.index]!;
    const eol = document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
    const inserted = word.completion.replace(/\r\n|\r|\n/g, eol);
    this.applying = { uri: run.uri, offset, text: inserted };
    let applied: boolean;
    try {
      applied = await editor.edit((builder) => builder.insert(document.positionAt(offset), inserted), { undoStopBefore: true, undoStopAfter: true });
    } finally {
      this.applying = undefined;
    }
    if (!applied) {
      // Refused because the user typed while it was being applied: say so, as when the typing
      // comes between steps.
      this.message = document.version !== version ? 'Stopped: the document was edited.' : 'Stopped: the editor refused the edit.';
      return false;
    }
    const end = document.positionAt(offset + inserted.length);
    editor.selection = new vscode.Selection(end, end);
    this.steps.push({
      row: {
        text: word.text,
        prob: word.prob,
        share: choice.share,
        rank: choice.rank,
        entropyBits: result.entropyBits,
        kept: choice.kept.indices.length,
        listed: probs.filter((p) => p > 0).length,
        rule: rule.kind,
      },
      uri: run.uri,
      start: offset,
      inserted,
      version: document.version,
    });
    this.lastDraw = {
      candidates: choice.kept.indices.map((i, j) => ({ text: result.words[i]!.text, prob: result.words[i]!.prob, share: choice.kept.shares[j]!, chosen: i === choice.index })),
    };
    return true;
  }
}
