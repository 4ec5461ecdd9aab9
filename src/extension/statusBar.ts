/** Status bar: model, document perplexity and bits per character, what is happening, and the heatmap's legend. */
import * as vscode from 'vscode';
import { legend } from '../core/colorBins';
import { differenceLegend } from '../core/comparison';
import type { ModelComparison } from './comparison';
import type { Heatmap } from './heatmap';
import type { ModelService } from './modelService';
import type { ScoreStore } from './scoreStore';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('surprisalLens.status', vscode.StatusBarAlignment.Right, 100);
  private progress: { uri: string; scored: number; total: number } | null = null;
  private lastError: { uri: string; message: string } | null = null;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly model: ModelService,
    private readonly store: ScoreStore,
    private readonly heatmap: Heatmap,
    private readonly comparison?: ModelComparison,
  ) {
    this.item.name = 'Surprisal Lens';
    this.item.command = 'surprisalLens.showNextWords';
    this.disposables.push(
      model.onDidChangeState(() => this.render()),
      store.onDidUpdate((entry) => {
        if (this.progress?.uri === entry.uri.toString()) this.progress = null;
        if (this.lastError?.uri === entry.uri.toString()) this.lastError = null;
        this.render();
      }),
      store.onDidProgress(({ uri, scored, total }) => {
        this.progress = scored < total ? { uri: uri.toString(), scored, total } : null;
        this.render();
      }),
      store.onDidFail(({ uri, error }) => {
        this.progress = null;
        this.lastError = { uri: uri.toString(), message: error.message };
        this.render();
      }),
      vscode.window.onDidChangeActiveTextEditor(() => this.render()),
      // The legend's swatches follow the theme kind.
      vscode.window.onDidChangeActiveColorTheme(() => this.render()),
    );
    if (comparison) this.disposables.push(comparison.onDidChange(() => this.render()), comparison.onDidUpdate(() => this.render()));
    this.render();
  }

  render(): void {
    const editor = vscode.window.activeTextEditor;
    const state = this.model.state;
    const heat = this.heatmap.isEnabled ? '$(flame)' : '$(graph-line)';
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.isTrusted = false;
    let text: string;
    if (state.kind === 'error') {
      text = `$(error) Surprisal Lens`;
      tooltip.appendText(`The model could not be loaded: ${state.message}`);
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else {
      this.item.backgroundColor = undefined;
      if (state.kind === 'ready' && state.kept) {
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        tooltip.appendText(`The model the settings name could not be loaded, so ${this.model.displayName() || 'the previous model'} stays in use: ${state.kept}\n\n`);
      }
      const key = editor?.document.uri.toString();
      const entry = editor ? this.store.latest(editor.document.uri) : undefined;
      const name = state.kind === 'ready' ? this.model.displayName() : 'model';
      if (state.kind === 'loading') {
        text = `$(loading~spin) Loading model`;
        tooltip.appendText(`Loading ${state.path}`);
      } else if (this.progress && this.progress.uri === key) {
        text = `$(loading~spin) Scoring ${Math.floor((100 * this.progress.scored) / Math.max(1, this.progress.total))}%`;
        tooltip.appendText(`Scoring ${this.progress.scored} of ${this.progress.total} tokens with ${name}`);
      } else if (this.lastError && this.lastError.uri === key) {
        text = `$(warning) Surprisal Lens`;
        tooltip.appendText(this.lastError.message);
      } else if (entry && editor) {
        const s = entry.scores.summary;
        const stale = entry.version !== editor.document.version ? ' (updating)' : '';
        const second = this.comparison?.isComparing ? this.comparison.secondEntry(editor.document) : undefined;
        const secondName = this.comparison?.secondModel?.displayName() || 'second model';
        // Comparing: both models' bits per byte, side by side (the one figure both tokenizers share).
        text = second
          ? `${heat} ${name} ${formatNumber(s.bitsPerByte)} \u00B7 ${secondName} ${formatNumber(second.scores.summary.bitsPerByte)} bits/byte${stale}`
          : `${heat} ${name} \u00B7 ppl ${formatNumber(s.perplexity)} \u00B7 ${formatNumber(s.bitsPerChar)} bits/char${stale}`;
        if (second) tooltip.appendText(`Comparing with ${this.comparison!.secondModel?.displayName(true) || 'a second model'}: ${formatNumber(second.scores.summary.bitsPerByte)} bits per byte, perplexity ${formatNumber(second.scores.summary.perplexity)} over its ${second.scores.tokenCount} tokens.\n`);
        else if (this.comparison?.isComparing) tooltip.appendText('Comparing: the second model is scoring this document.\n');
        tooltip.appendText(
          `Model: ${this.model.displayName(true)}${variantText(state.kind === 'ready' ? state.info.variant : undefined)}\nTokens scored: ${s.scoredTokens}\nPerplexity: ${formatNumber(s.perplexity)}\nMean surprisal: ${formatNumber(s.meanSurprisal)} bits per token\nBits per byte: ${formatNumber(s.bitsPerByte)}\nScored in ${entry.elapsedMs.toFixed(0)} ms` +
            (entry.reusedTokens > 0 ? ` (${entry.reusedTokens} tokens reused)` : '') +
            (state.kind === 'ready' && state.info.inGraphScoringUnavailable
              ? `\nStatistics computed outside the model graph (slower): ${state.info.inGraphScoringUnavailable}`
              : '') +
            '\n\nClick to open the Next-Word Distribution panel.',
        );
      } else {
        text = `${heat} ${state.kind === 'ready' ? name : 'Surprisal Lens'}`;
        tooltip.appendText('Hover a token, toggle the heatmap, or open the Next-Word Distribution panel.');
      }
    }
    if (state.kind !== 'error') this.appendLegend(tooltip);
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.show();
  }

  /** The heatmap's colours with what each means, for the mode and theme in use. */
  private appendLegend(tooltip: vscode.MarkdownString): void {
    if (this.comparison?.isComparing) {
      tooltip.appendMarkdown(`\n\n**Heatmap${this.heatmap.isEnabled ? '' : ' (off)'}**: colour = bits the second model needed for each word, minus the first's  \n`);
      for (const { step, label } of differenceLegend()) {
        const swatch = this.heatmap.differenceSwatch(step);
        tooltip.appendMarkdown(`${swatch ? `![step ${step}](${swatch}) ` : ''}`);
        tooltip.appendText(`${label}${step === 0 ? ' (uncoloured)' : ''}`);
        tooltip.appendMarkdown('  \n');
      }
      return;
    }
    const scheme = this.heatmap.scheme();
    const what = scheme.mode === 'rank' ? 'rank among the predictions (GLTR)' : `surprisal of each ${this.heatmap.granularityFor(vscode.window.activeTextEditor?.document.languageId ?? 'plaintext')}`;
    tooltip.appendMarkdown(`\n\n**Heatmap${this.heatmap.isEnabled ? '' : ' (off)'}**: colour = ${what}  \n`);
    for (const { step, label } of legend(scheme)) {
      const swatch = this.heatmap.swatch(scheme.mode, step);
      tooltip.appendMarkdown(`${swatch ? `![step ${step}](${swatch}) ` : ''}`);
      tooltip.appendText(`${label}${step === 0 ? ' (uncoloured)' : ''}`);
      tooltip.appendMarkdown('  \n');
    }
  }

  dispose(): void {
    this.item.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}

/** "\nVariant: q4 (onnx/model_q4.onnx, 200.1 MB)" for a model loaded from a folder. */
function variantText(variant: { name: string; graphFile: string; bytes: number } | undefined): string {
  return variant ? `\nVariant: ${variant.name} (${variant.graphFile}, ${(variant.bytes / 1e6).toFixed(1)} MB)` : '';
}
