/** Hover: the word (or token) under the mouse, how probable it was, and what the model preferred. */
import * as vscode from 'vscode';
import { stepOf } from '../core/colorBins';
import { unitAt } from '../core/heatUnits';
import { hoverMarkdown, hoverTarget } from '../core/hoverText';
import { tokenAt } from '../core/tokenView';
import { CancelledError } from '../core/types';
import type { ModelComparison } from './comparison';
import type { Heatmap } from './heatmap';
import type { ModelService } from './modelService';
import type { ScoreStore } from './scoreStore';

export const SHOW_PANEL_COMMAND = 'surprisalLens.showNextWords';

export class SurprisalHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly store: ScoreStore,
    private readonly model: ModelService,
    private readonly heatmap: Heatmap,
    private readonly comparison?: ModelComparison,
  ) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    if (!this.store.isEligible(document)) return undefined;
    let entry;
    try {
      entry = await this.store.scoreNow(document, token);
    } catch (error) {
      if (error instanceof CancelledError) return undefined;
      const message = new vscode.MarkdownString();
      message.appendText(`Surprisal Lens: ${(error as Error).message}`);
      return new vscode.Hover(message);
    }
    if (token.isCancellationRequested || entry.version !== document.version) return undefined;
    const { scores } = entry;
    const offset = document.offsetAt(position);
    const text = document.getText();
    const words = this.heatmap.unitsOf(scores, text, 'word');
    // The word under the mouse when it has scored tokens; otherwise the token there.
    const word = unitAt(words, offset);
    const index = word !== undefined && !Number.isNaN(words.bits[word]!) ? words.lastToken[word]! : tokenAt(scores, offset);
    if (index === undefined) return undefined;
    const target = hoverTarget(scores, index, text, words);
    const args = encodeURIComponent(JSON.stringify([{ uri: document.uri.toString(), offset: scores.ends[target.lastToken] }]));
    // While comparing, the colour is the difference between the models: the comparison line says it.
    const comparison = this.comparison?.isComparing ? this.comparison.comparisonFor(document) : undefined;
    const scheme = this.comparison?.isComparing ? null : this.heatmap.activeScheme();
    const markdown = new vscode.MarkdownString(
      hoverMarkdown(scores, index, {
        text,
        tokenText: (id) => this.model.tokenText(id),
        modelName: this.model.displayName(true) || 'model',
        panelCommandUri: `command:${SHOW_PANEL_COMMAND}?${args}`,
        heatmap: scheme,
        words,
        swatch: scheme ? (step) => this.heatmap.swatch(scheme.mode, step) : null,
        stepOf: scheme ? (bits, rank) => stepOf(bits, rank, scheme) : undefined,
        comparison: comparison ? { secondModelName: this.comparison!.secondModel?.displayName(true) || 'second model', words: comparison } : null,
      }),
    );
    // Only our own command may run from the hover; HTML stays off.
    markdown.isTrusted = { enabledCommands: [SHOW_PANEL_COMMAND] };
    markdown.supportHtml = false;
    return new vscode.Hover(markdown, new vscode.Range(document.positionAt(target.start), document.positionAt(target.end)));
  }
}
