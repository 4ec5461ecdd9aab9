/** Hover: the probability of the token under the mouse and what the model preferred. */
import * as vscode from 'vscode';
import type { ColorScheme } from '../core/colorBins';
import { hoverMarkdown } from '../core/hoverText';
import { tokenAt } from '../core/tokenView';
import { CancelledError } from '../core/types';
import type { ModelService } from './modelService';
import type { ScoreStore } from './scoreStore';

export const SHOW_PANEL_COMMAND = 'surprisalLens.showNextWords';

export class SurprisalHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly store: ScoreStore,
    private readonly model: ModelService,
    private readonly heatmapScheme: () => ColorScheme | null,
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
    const offset = document.offsetAt(position);
    const index = tokenAt(entry.scores, offset);
    if (index === undefined) return undefined;
    const text = document.getText();
    const info = this.model.state.kind === 'ready' ? this.model.state.info : undefined;
    const args = encodeURIComponent(JSON.stringify([{ uri: document.uri.toString(), offset: entry.scores.ends[index] }]));
    const markdown = new vscode.MarkdownString(
      hoverMarkdown(entry.scores, index, {
        text,
        tokenText: (id) => this.model.tokenText(id),
        modelName: info?.name ?? 'model',
        panelCommandUri: `command:${SHOW_PANEL_COMMAND}?${args}`,
        heatmap: this.heatmapScheme(),
      }),
    );
    // Only our own command may run from the hover; HTML stays off.
    markdown.isTrusted = { enabledCommands: [SHOW_PANEL_COMMAND] };
    markdown.supportHtml = false;
    const range = new vscode.Range(document.positionAt(entry.scores.starts[index]!), document.positionAt(entry.scores.ends[index]!));
    return new vscode.Hover(markdown, range);
  }
}
