/**
 * Export of a scored document's token table (the panel's Export buttons): the same token
 * records as the CLI's `--json` (`tokenView`), as JSON or CSV, written where the user
 * chooses.
 */
import * as vscode from 'vscode';
import { tokenViews, tokenViewsCsv } from '../core/tokenView';
import type { ModelService } from './modelService';
import type { ScoreEntry } from './scoreStore';

export async function exportTokens(document: vscode.TextDocument, entry: ScoreEntry, model: ModelService, format: 'csv' | 'json'): Promise<void> {
  const tokens = tokenViews(entry.scores, document.getText(), (id) => model.tokenText(id));
  const state = model.state;
  const content = format === 'csv'
    ? tokenViewsCsv(tokens)
    : `${JSON.stringify({
      file: document.uri.toString(),
      version: entry.version,
      model: state.kind === 'ready' ? state.info.name : null,
      summary: entry.scores.summary,
      tokens,
    }, null, 2)}\n`;
  const defaultUri = document.uri.scheme === 'file' ? vscode.Uri.file(`${document.uri.fsPath}.surprisal.${format}`) : undefined;
  const target = await vscode.window.showSaveDialog({
    ...(defaultUri ? { defaultUri } : {}),
    filters: format === 'csv' ? { 'CSV': ['csv'] } : { 'JSON': ['json'] },
    saveLabel: `Export ${format.toUpperCase()}`,
    title: 'Export the token table',
  });
  if (!target) return;
  try {
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(content));
    void vscode.window.showInformationMessage(`Surprisal Lens: exported ${tokens.length.toLocaleString('en-US')} tokens to ${vscode.workspace.asRelativePath(target, false)}.`);
  } catch (error) {
    void vscode.window.showErrorMessage(`Surprisal Lens: cannot write ${target.fsPath}: ${(error as Error).message}`);
  }
}
